// Settings, read from the environment once at load (process.env is slow to
// read on every decision) and adjustable at run time with configure().
import { MIN_FAST_PATH_BYTES } from './threshold';

export interface Settings {
  /** ZEROCOPY_DISABLE=1: the normal path everywhere. */
  disabled: boolean;
  /** ZEROCOPY_MIN_BYTES: files with fewer bytes left than this take the normal path. */
  minFastPathBytes: number;
}

function fromEnv(): Settings {
  const off = process.env.ZEROCOPY_DISABLE;
  const min = process.env.ZEROCOPY_MIN_BYTES;
  const minValue = min === undefined || min.trim() === '' ? NaN : Number(min);
  return {
    disabled: off !== undefined && off !== '' && off !== '0' && off.toLowerCase() !== 'false',
    minFastPathBytes: Number.isFinite(minValue) && minValue >= 0 ? minValue : MIN_FAST_PATH_BYTES,
  };
}

export const settings: Settings = fromEnv();

/** Overrides settings for this process; returns the previous ones. */
export function configure(changes: Partial<Settings>): Settings {
  const previous = { ...settings };
  Object.assign(settings, changes);
  return previous;
}
