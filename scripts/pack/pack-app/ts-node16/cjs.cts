// node16 from CommonJS: the `require` condition's .d.ts types.
import zerocopy = require('zerocopy');
import promises = require('zerocopy/promises');
import 'zerocopy/register';

const r: import('node:fs').ReadStream = zerocopy.createReadStream('in.bin');
zerocopy.pipeline(r, zerocopy.createWriteStream('out.bin'), () => {});
const p: Promise<void> = promises.pipeline(zerocopy.createReadStream('a'), zerocopy.createWriteStream('b'));
const paths: zerocopy.TransferPath[] = ['sendfile', 'splice', 'copy_file_range', 'normal'];
void p;
void paths;
