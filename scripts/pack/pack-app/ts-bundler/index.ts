// moduleResolution bundler (Vite, esbuild, webpack): the `import` condition.
import type { ReadStream as FsReadStream } from 'node:fs';
import { createReadStream, createWriteStream, pipeline, pipeStats, type TransferStats } from 'zerocopy';
import { pipeline as pipelineP } from 'zerocopy/promises';
import 'zerocopy/register';

const r: FsReadStream = createReadStream('in.bin');
pipeline(r, createWriteStream('out.bin'), () => {});
const done: Promise<void> = pipelineP(createReadStream('a'), createWriteStream('b'));
const stats = pipeStats();
let t: TransferStats | undefined;
void done;
void stats;
void t;
