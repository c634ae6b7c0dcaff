// node16 from ESM: the `import` condition's .d.mts types.
import type { ReadStream as FsReadStream } from 'node:fs';
import zerocopy, {
  createReadStream,
  createWriteStream,
  pipeline,
  transferChannel,
  type TransferMessage,
  type Settings,
} from 'zerocopy';
import { pipeline as pipelineP, finished } from 'zerocopy/promises';
import 'zerocopy/register';

const r: FsReadStream = createReadStream('in.bin');
const w = createWriteStream('out.bin');
pipeline(r, w, (err: NodeJS.ErrnoException | null) => {
  if (err) throw err;
});
const done: Promise<void> = pipelineP(createReadStream('a'), createWriteStream('b'));
void finished(w);
transferChannel.subscribe((m) => {
  const msg = m as TransferMessage;
  console.log(msg.path, msg.bytes);
});
const s: Settings = zerocopy.configure({ disabled: false });
void done;
void s;
