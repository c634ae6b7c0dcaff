// zerocopy/register: `node --require zerocopy/register app.js` (or --import)
// makes fs.createReadStream/createWriteStream and fs.ReadStream/WriteStream
// return ours, for CommonJS callers and for ESM named imports of fs alike.
import * as fs from 'node:fs';
import * as mod from 'node:module';
import { ReadStream, createReadStream } from './read-stream';
import { WriteStream, createWriteStream } from './write-stream';
import { debug } from './diagnostics';

// `import * as fs` gives a frozen namespace copy under some loaders; patch the real module object.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const realFs = require('node:fs') as typeof fs & Record<string, unknown>;

if ((realFs.ReadStream as unknown) !== ReadStream) {
  // fs defines ReadStream/WriteStream as accessors whose setter also changes
  // what fs.createReadStream constructs; set both explicitly all the same.
  realFs.ReadStream = ReadStream as unknown as typeof fs.ReadStream;
  realFs.WriteStream = WriteStream as unknown as typeof fs.WriteStream;
  realFs.createReadStream = createReadStream as typeof fs.createReadStream;
  realFs.createWriteStream = createWriteStream as typeof fs.createWriteStream;
  mod.syncBuiltinESMExports();
  debug('registered: fs streams are zerocopy streams');
}
