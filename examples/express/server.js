'use strict';

// A small Express app whose node_modules are built on the deploying host
// from package-lock.json and shipped with it.
const express = require('express');
const { name, version } = require('./package.json');

const app = express();

app.get('/', (req, res) => {
  res.type('text/plain').send(`hello from express: ${name} ${version}\n`);
});

app.get('/healthz', (req, res) => {
  res.type('text/plain').send('ok');
});

const port = Number(process.env.PORT) || 3000;
app.listen(port, '0.0.0.0', () => {
  console.log(`${name} ${version} listening on 0.0.0.0:${port}`);
});
