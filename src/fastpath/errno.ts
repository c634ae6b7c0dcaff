// Linux errno numbers by name, as the native layer reports them (positive).
import { constants } from 'node:os';

export const os = constants.errno as Required<typeof constants.errno>;
