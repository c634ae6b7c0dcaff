// The pairs the library accelerates, in table order.
'use strict';
const { tcp, unix } = require('./file-socket.js');

const PAIRS = [
  tcp,
  unix,
  require('./file-file.js'),
  require('./file-pipe.js'),
  require('./proxy.js'),
  require('./socket-file.js'),
  require('./pipe-file.js'),
  require('./file-http.js'),
  require('./http-upload.js'),
  require('./http-download.js'),
  require('./http-proxy.js'),
];

module.exports = { PAIRS };
