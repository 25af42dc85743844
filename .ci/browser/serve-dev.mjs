// .ci/browser/serve-dev.mjs: a stand-in for kompetanse's GraphiQL routes,
// for trying assets/graphiql/ before the server serves it itself. Plain
// Node, no dependencies.
//
//   UPSTREAM=http://127.0.0.1:8081 PORT=8090 node serve-dev.mjs
//
// GET /graphql with Accept text/html (and no query)  -> assets/graphiql/index.html
//                                                       with the CSP header from assets/graphiql/CSP
// GET /graphiql/<file>                               -> assets/graphiql/<file>
// any other /graphql request                         -> proxied to UPSTREAM (a real kompetanse)
// anything else                                      -> 404
//
// For experiments, CSP='...' replaces the policy and ASSETS=DIR the folder.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const assets = path.resolve(
  process.env.ASSETS ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '../../assets/graphiql'),
);
const upstream = new URL(process.env.UPSTREAM ?? 'http://127.0.0.1:8081');
const port = Number(process.env.PORT ?? 8090);
const host = process.env.HOST ?? '127.0.0.1';
const csp = (process.env.CSP ?? fs.readFileSync(path.join(assets, 'CSP'), 'utf8')).trim();

// The files a browser may fetch, with their types; nothing else in the
// folder (VERSIONS, update.sh, ...) is served.
const served = {
  'index.html': 'text/html; charset=utf-8',
  'init.js': 'text/javascript; charset=utf-8',
  'kompetanse.css': 'text/css; charset=utf-8',
  'graphiql.min.js': 'text/javascript; charset=utf-8',
  'graphiql.min.css': 'text/css; charset=utf-8',
  'react.production.min.js': 'text/javascript; charset=utf-8',
  'react-dom.production.min.js': 'text/javascript; charset=utf-8',
};

function send(res, status, type, body, headers = {}) {
  res.writeHead(status, { 'content-type': type, 'x-content-type-options': 'nosniff', ...headers });
  res.end(body);
}

function proxy(req, res) {
  const target = new URL(req.url, upstream);
  const up = http.request(
    target,
    { method: req.method, headers: { ...req.headers, host: upstream.host } },
    (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    },
  );
  up.on('error', (e) => send(res, 502, 'text/plain', `serve-dev: upstream ${upstream.origin}: ${e.message}\n`));
  req.pipe(up);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://dev');
  console.log(`${req.method} ${req.url}`);
  if (url.pathname === '/graphql') {
    const html = (req.headers.accept ?? '').includes('text/html');
    if (req.method === 'GET' && html && !url.searchParams.has('query')) {
      return send(res, 200, served['index.html'], fs.readFileSync(path.join(assets, 'index.html')), {
        'content-security-policy': csp,
        'cache-control': 'no-cache',
      });
    }
    return proxy(req, res);
  }
  const m = url.pathname.match(/^\/graphiql\/([^/]+)$/);
  if (req.method === 'GET' && m && Object.hasOwn(served, m[1]) && m[1] !== 'index.html') {
    return send(res, 200, served[m[1]], fs.readFileSync(path.join(assets, m[1])), {
      'cache-control': 'no-cache',
    });
  }
  return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
});

server.listen(port, host, () => {
  console.log(`serve-dev: http://${host}:${server.address().port}/graphql (upstream ${upstream.origin})`);
});
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => server.close(() => process.exit(0)));
