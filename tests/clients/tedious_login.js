// Logs in with the tedious driver (as Node applications do), follows a redirect, runs `select 1`
// and prints one JSON line: {ok, error, rerouted, value}. Exit code 0 only when ok.
// Usage: node tedious_login.js <port> <encrypt: true|false|strict> [user] [password] [host]
// (strict = TDS 8: TLS before any TDS, ALPN tds/8.0)
// With TEDIOUS_CA (a PEM file) and TEDIOUS_SERVER_NAME the certificate is really validated
// (chain and name), as TDS 8 drivers do; without them it is trusted blindly.
'use strict';

const fs = require('fs');
const { Connection, Request } = require('tedious');

const [port, encrypt = 'true', user = 'sim', password = 'sim-password', host = '127.0.0.1'] =
  process.argv.slice(2);
const result = { ok: false, error: null, rerouted: false, value: null };

function finish(error) {
  if (error) result.error = String(error.message || error);
  result.ok = !error && result.value === 1;
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(result.ok ? 0 : 1);
}

// The C++ test also kills us by PID; this is the polite bound.
setTimeout(() => finish(new Error('timed out after 15 s')), 15000).unref();

const connection = new Connection({
  server: host,
  authentication: { type: 'default', options: { userName: user, password } },
  options: {
    port: Number(port),
    encrypt: encrypt === 'strict' ? 'strict' : encrypt === 'true',
    trustServerCertificate: !process.env.TEDIOUS_CA,
    ...(process.env.TEDIOUS_CA && {
      cryptoCredentialsDetails: { ca: fs.readFileSync(process.env.TEDIOUS_CA) },
      serverName: process.env.TEDIOUS_SERVER_NAME,
    }),
    connectTimeout: 10000,
    requestTimeout: 10000,
  },
});

connection.on('rerouting', () => {
  result.rerouted = true;
});
connection.on('error', (err) => finish(err));
connection.connect((err) => {
  if (err) return finish(err);
  const request = new Request('select 1', (reqErr) => {
    connection.close();
    finish(reqErr);
  });
  request.on('row', (columns) => {
    result.value = columns[0].value;
  });
  connection.execSqlBatch(request);
});
