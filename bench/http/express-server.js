'use strict';
// express 5: express.static(root) with its defaults (ETag, Last-Modified,
// Cache-Control, Accept-Ranges; the file goes through `send`, i.e.
// fs.createReadStream(path, { start, end }).pipe(res)).
const express = require('express');
const { root, pathsJson, listening } = require('./common');

const app = express();
app.get('/empty', (_req, res) => {
  res.status(200).send('');
});
app.get('/__paths', (_req, res) => {
  res.type('json').send(pathsJson());
});
app.use(express.static(root));
const server = app.listen(0, '127.0.0.1', () => listening(server));
