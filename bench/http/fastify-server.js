'use strict';
// fastify 5 + @fastify/static (its defaults; the file goes through
// @fastify/send's fs.createReadStream, handed to reply.send(stream)).
const fastify = require('fastify')({ logger: false });
const { root, pathsJson, listening } = require('./common');

fastify.register(require('@fastify/static'), { root });
fastify.get('/empty', (_req, reply) => {
  reply.code(200).send('');
});
fastify.get('/__paths', (_req, reply) => {
  reply.type('application/json').send(pathsJson());
});
fastify.listen({ port: 0, host: '127.0.0.1' }).then(
  () => listening(fastify.server),
  (err) => {
    process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  },
);
