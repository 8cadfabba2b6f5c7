'use strict';
// The Node side of the side-by-side Amazon Pay benchmark (issue #17; docs/bench-side-by-side.md).
//
// A minimal checkout server doing per order what kessai's edge does, on the official Amazon Pay
// Node SDK (@amazonpay/amazon-pay-api-sdk-nodejs, unmodified) and an in-process SQLite:
//   POST /orders                                   set-up: an order row (amount), like POST /v1/payments
//   POST /orders/{id}/amazon/checkout-session      Create Checkout Session (the button's payload) + SQLite
//   GET  /amazon/review?order=…&amazonCheckoutSessionId=…   [Get CS] + Update CS + SQLite → 303 Amazon
//   GET  /amazon/result?order=…&amazonCheckoutSessionId=…   claim + Complete CS [+ Get Charge] + SQLite → 303 shop
//   GET  /orders/{id}, GET /stats                  checks (not measured)
// CHECKS=mirror (default) makes the same verifying reads kessai's edge makes (Get CS before Update CS,
// Get Charge after Complete CS); CHECKS=minimal skips them (Create / Update / Complete only).
//
// The SDK hard-codes https://pay-api.amazon.jp and signs x-amz-pay-host: pay-api.amazon.jp. Below,
// https.request for that host is redirected to the sandbox's plain-http address (SANDBOX_URL) with
// every header as the SDK made it (the signed ones untouched; Host stays pay-api.amazon.jp, as
// through a hosts entry). The sandbox accepts Amazon's host name (docs/sandbox.md).
//
// Environment: PORT, SANDBOX_URL, MERCHANT_ID, STORE_ID, PUBLIC_KEY_ID, PRIVATE_KEY_FILE, DB_FILE,
// PUBLIC_URL (this server's URL, for the return URLs), CHECKS. SQLite: node:sqlite (Node ≥ 22.13,
// native, file-backed, WAL) when present, else sql.js (wasm, in memory).

const http = require('node:http');
const https = require('node:https');
const crypto = require('node:crypto');
const fs = require('node:fs');

const env = (k, d) => {
  const v = process.env[k];
  if (v === undefined || v === '') {
    if (d === undefined) throw new Error(`${k} is required`);
    return d;
  }
  return v;
};
const PORT = Number(env('PORT'));
const SANDBOX = new URL(env('SANDBOX_URL'));
const MERCHANT_ID = env('MERCHANT_ID');
const STORE_ID = env('STORE_ID');
const PUBLIC_KEY_ID = env('PUBLIC_KEY_ID');
const PRIVATE_KEY_PEM = fs.readFileSync(env('PRIVATE_KEY_FILE'), 'utf8');
const DB_FILE = env('DB_FILE', ':memory:');
const PUBLIC_URL = env('PUBLIC_URL', `http://127.0.0.1:${PORT}`);
const CHECKS = env('CHECKS', 'mirror');
const AMAZON_HOST = 'pay-api.amazon.jp';

// --- https://pay-api.amazon.jp → the sandbox (plain http), headers untouched -------------------
const sandboxAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const httpsRequest = https.request;
https.request = function request(input, options, callback) {
  let opts;
  if (typeof input === 'string' || input instanceof URL) {
    const u = new URL(input);
    if (typeof options === 'function') {
      callback = options;
      options = undefined;
    }
    opts = {
      protocol: u.protocol,
      hostname: u.hostname,
      port: u.port,
      path: u.pathname + u.search,
      ...(options || {}),
    };
  } else {
    opts = { ...input };
    callback = typeof options === 'function' ? options : callback;
  }
  const host = String(opts.hostname || opts.host || '').replace(/:\d+$/, '');
  if (host.toLowerCase() !== AMAZON_HOST) {
    return httpsRequest.apply(https, arguments);
  }
  const headers = { ...(opts.headers || {}) };
  if (!Object.keys(headers).some((k) => k.toLowerCase() === 'host')) headers.host = AMAZON_HOST;
  return http.request(
    {
      ...opts,
      protocol: 'http:',
      hostname: SANDBOX.hostname,
      host: SANDBOX.hostname,
      port: SANDBOX.port,
      agent: sandboxAgent,
      headers,
    },
    callback,
  );
};

const { WebStoreClient } = require('@amazonpay/amazon-pay-api-sdk-nodejs');
const amazon = new WebStoreClient({
  publicKeyId: PUBLIC_KEY_ID,
  // Parsed once (kessai's edge imports its key once per isolate too); the SDK passes it to crypto.sign.
  privateKey: crypto.createPrivateKey(PRIVATE_KEY_PEM),
  region: 'jp',
  sandbox: true,
  // kessai signs with AMZN-PAY-RSASSA-PSS-V2 (salt 32); the SDK's default is the legacy salt 20.
  algorithm: 'AMZN-PAY-RSASSA-PSS-V2',
});

// --- SQLite ---------------------------------------------------------------------------------------
const SCHEMA = `
CREATE TABLE IF NOT EXISTS orders (
  id TEXT PRIMARY KEY, order_id TEXT NOT NULL UNIQUE, amount INTEGER NOT NULL,
  state TEXT NOT NULL, checkout_session_id TEXT, charge_id TEXT, charge_permission_id TEXT,
  buyer_id TEXT, buyer_name TEXT, buyer_email TEXT, shipping_postal_code TEXT, return_url TEXT,
  last_error TEXT, lease_until INTEGER, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS order_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, order_ref TEXT NOT NULL, kind TEXT NOT NULL,
  detail TEXT, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS order_events_order ON order_events(order_ref, seq);`;

function openDb() {
  let sqlite = null;
  try {
    process.removeAllListeners('warning'); // node:sqlite's ExperimentalWarning
    sqlite = require('node:sqlite');
  } catch (_) {
    sqlite = null;
  }
  if (sqlite && sqlite.DatabaseSync) {
    const db = new sqlite.DatabaseSync(DB_FILE);
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
    db.exec(SCHEMA);
    const cache = new Map();
    const stmt = (sql) => {
      let s = cache.get(sql);
      if (!s) cache.set(sql, (s = db.prepare(sql)));
      return s;
    };
    return {
      kind: `node:sqlite (SQLite ${db.prepare('select sqlite_version() v').get().v}, ${DB_FILE}, WAL)`,
      get: (sql, ...p) => stmt(sql).get(...p),
      all: (sql, ...p) => stmt(sql).all(...p),
      run: (sql, ...p) => Number(stmt(sql).run(...p).changes),
    };
  }
  const initSqlJs = require('sql.js');
  return initSqlJs().then((SQL) => {
    const db = new SQL.Database();
    db.exec(SCHEMA);
    const rows = (sql, p) => {
      const s = db.prepare(sql);
      s.bind(p);
      const out = [];
      while (s.step()) out.push(s.getAsObject());
      s.free();
      return out;
    };
    return {
      kind: 'sql.js (wasm SQLite, in memory)',
      get: (sql, ...p) => rows(sql, p)[0],
      all: (sql, ...p) => rows(sql, p),
      run: (sql, ...p) => {
        db.run(sql, p);
        return db.getRowsModified();
      },
    };
  });
}

// --- helpers ---------------------------------------------------------------------------------------
const now = () => Date.now();
const newId = () => 'ord_' + crypto.randomBytes(12).toString('hex');
const idemKey = (what) => 'nb' + crypto.createHash('sha256').update(what).digest('hex').slice(0, 30);

function send(res, status, body, headers = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}
function redirect(res, url) {
  res.writeHead(303, { location: url, 'content-length': '0' });
  res.end();
}
function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
function backToShop(order, outcome) {
  const sep = order.return_url.includes('?') ? '&' : '?';
  return `${order.return_url}${sep}order=${order.id}&outcome=${outcome}`;
}
function amazonError(e) {
  const r = e && e.response;
  if (r) return `${r.status} ${r.data && r.data.reasonCode}`;
  return String((e && e.code) || e);
}

// --- handlers --------------------------------------------------------------------------------------
function createOrder(db, body) {
  const amount = Number(body.amount);
  if (!Number.isInteger(amount) || amount < 1) return [400, { error: 'amount' }];
  const id = newId();
  const t = now();
  db.run(
    'INSERT INTO orders (id, order_id, amount, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
    id, String(body.order_id || id), amount, 'requires_payment', t, t,
  );
  db.run('INSERT INTO order_events (order_ref, kind, at) VALUES (?, ?, ?)', id, 'created', t);
  return [201, { id, amount, state: 'requires_payment' }];
}

async function checkoutSession(db, id, body, res) {
  const returnUrl = body.return_url;
  if (typeof returnUrl !== 'string' || !/^https?:\/\//.test(returnUrl)) {
    return send(res, 400, { error: 'return_url' });
  }
  const order = db.get('SELECT * FROM orders WHERE id = ?', id);
  if (!order) return send(res, 404, { error: 'order_not_found' });
  if (order.state !== 'requires_payment') return send(res, 409, { error: 'order_not_payable' });
  const payload = {
    webCheckoutDetails: {
      checkoutReviewReturnUrl: `${PUBLIC_URL}/amazon/review?order=${id}`,
    },
    storeId: STORE_ID,
    scopes: ['name', 'email', 'phoneNumber', 'billingAddress', 'shippingAddress', 'postalCode'],
    chargePermissionType: 'OneTime',
    deliverySpecifications: { addressRestrictions: { type: 'Allowed', restrictions: { JP: {} } } },
    paymentDetails: {
      paymentIntent: 'Authorize',
      canHandlePendingAuthorization: false,
      chargeAmount: { amount: String(order.amount), currencyCode: 'JPY' },
    },
    merchantMetadata: { merchantReferenceId: order.order_id },
  };
  let cs;
  try {
    const r = await amazon.createCheckoutSession(payload, {
      'x-amz-pay-idempotency-key': idemKey(`create:${id}:${crypto.randomUUID()}`),
    });
    cs = r.data;
  } catch (e) {
    return send(res, 502, { error: 'amazon', detail: amazonError(e) });
  }
  const t = now();
  const changed = db.run(
    "UPDATE orders SET checkout_session_id = ?, return_url = ?, updated_at = ? WHERE id = ? AND state = 'requires_payment'",
    cs.checkoutSessionId, returnUrl, t, id,
  );
  if (changed !== 1) return send(res, 409, { error: 'order_in_progress' });
  db.run('INSERT INTO order_events (order_ref, kind, at) VALUES (?, ?, ?)', id, 'amazon_session_created', t);
  send(res, 200, { checkoutSessionId: cs.checkoutSessionId });
}

async function review(db, q, res) {
  const id = q.get('order') || '';
  const csId = q.get('amazonCheckoutSessionId') || '';
  const order = db.get('SELECT * FROM orders WHERE id = ?', id);
  if (!order) return send(res, 404, { error: 'order_not_found' });
  if (order.state !== 'requires_payment') return redirect(res, backToShop(order, order.state));
  if (!csId || csId !== order.checkout_session_id) return redirect(res, backToShop(order, 'error'));
  try {
    if (CHECKS === 'mirror') {
      const got = (await amazon.getCheckoutSession(csId)).data;
      const review = got.webCheckoutDetails && got.webCheckoutDetails.checkoutReviewReturnUrl;
      if (got.statusDetails.state !== 'Open' || review !== `${PUBLIC_URL}/amazon/review?order=${id}`) {
        return redirect(res, backToShop(order, 'error'));
      }
    }
    const updated = (
      await amazon.updateCheckoutSession(csId, {
        webCheckoutDetails: { checkoutResultReturnUrl: `${PUBLIC_URL}/amazon/result?order=${id}` },
        paymentDetails: {
          paymentIntent: 'Authorize',
          canHandlePendingAuthorization: false,
          chargeAmount: { amount: String(order.amount), currencyCode: 'JPY' },
        },
        merchantMetadata: { merchantReferenceId: order.order_id },
      })
    ).data;
    const t = now();
    db.run('UPDATE orders SET updated_at = ? WHERE id = ?', t, id);
    db.run('INSERT INTO order_events (order_ref, kind, at) VALUES (?, ?, ?)', id, 'amazon_session_updated', t);
    const next = updated.webCheckoutDetails && updated.webCheckoutDetails.amazonPayRedirectUrl;
    if (!next) return redirect(res, backToShop(order, 'error'));
    redirect(res, next);
  } catch (e) {
    db.run(
      'INSERT INTO order_events (order_ref, kind, detail, at) VALUES (?, ?, ?, ?)',
      id, 'amazon_review_failed', amazonError(e), now(),
    );
    redirect(res, backToShop(order, 'error'));
  }
}

async function result(db, q, res) {
  const id = q.get('order') || '';
  const csId = q.get('amazonCheckoutSessionId') || '';
  const order = db.get('SELECT * FROM orders WHERE id = ?', id);
  if (!order) return send(res, 404, { error: 'order_not_found' });
  if (!csId || csId !== order.checkout_session_id) return redirect(res, backToShop(order, 'error'));
  const t0 = now();
  // Claim: one Complete per order at a time.
  const claimed = db.run(
    "UPDATE orders SET state = 'processing', lease_until = ?, updated_at = ? WHERE id = ? AND state = 'requires_payment'",
    t0 + 240000, t0, id,
  );
  if (claimed !== 1) return redirect(res, backToShop(order, order.state));
  db.run('INSERT INTO order_events (order_ref, kind, at) VALUES (?, ?, ?)', id, 'amazon_complete_started', t0);
  try {
    const done = (
      await amazon.completeCheckoutSession(
        csId,
        { chargeAmount: { amount: String(order.amount), currencyCode: 'JPY' } },
        { 'x-amz-pay-idempotency-key': idemKey(`complete:${id}:${csId}`) },
      )
    ).data;
    let state = 'authorized';
    if (CHECKS === 'mirror') {
      const charge = (await amazon.getCharge(done.chargeId)).data;
      const st = charge.statusDetails.state;
      const amountOk = Number(charge.chargeAmount.amount) === order.amount;
      state = !amountOk ? 'unknown' : st === 'Captured' ? 'captured' : /^(Authorized|CaptureInitiated)$/.test(st) ? 'authorized' : 'unknown';
    }
    const buyer = done.buyer || {};
    const ship = done.shippingAddress || {};
    const t = now();
    db.run(
      `UPDATE orders SET state = ?, charge_id = ?, charge_permission_id = ?, buyer_id = ?, buyer_name = ?,
         buyer_email = ?, shipping_postal_code = ?, lease_until = NULL, updated_at = ? WHERE id = ? AND state = 'processing'`,
      state, done.chargeId || null, done.chargePermissionId || null, buyer.buyerId || null,
      buyer.name || null, buyer.email || null, ship.postalCode || null, t, id,
    );
    db.run('INSERT INTO order_events (order_ref, kind, at) VALUES (?, ?, ?)', id, `amazon_${state}`, t);
    redirect(res, backToShop(order, state));
  } catch (e) {
    const t = now();
    db.run(
      "UPDATE orders SET state = 'requires_payment', last_error = ?, lease_until = NULL, updated_at = ? WHERE id = ?",
      amazonError(e), t, id,
    );
    db.run(
      'INSERT INTO order_events (order_ref, kind, detail, at) VALUES (?, ?, ?, ?)',
      id, 'amazon_complete_failed', amazonError(e), t,
    );
    redirect(res, backToShop(order, 'error'));
  }
}

async function main() {
  const db = await openDb();
  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, PUBLIC_URL);
      const parts = url.pathname.split('/').filter(Boolean);
      if (req.method === 'POST' && url.pathname === '/orders') {
        const [s, b] = createOrder(db, JSON.parse((await readBody(req)) || '{}'));
        return send(res, s, b);
      }
      if (req.method === 'POST' && parts.length === 4 && parts[0] === 'orders' && parts[2] === 'amazon' && parts[3] === 'checkout-session') {
        return await checkoutSession(db, parts[1], JSON.parse((await readBody(req)) || '{}'), res);
      }
      if (req.method === 'GET' && url.pathname === '/amazon/review') return await review(db, url.searchParams, res);
      if (req.method === 'GET' && url.pathname === '/amazon/result') return await result(db, url.searchParams, res);
      if (req.method === 'GET' && parts.length === 2 && parts[0] === 'orders') {
        const o = db.get('SELECT * FROM orders WHERE id = ?', parts[1]);
        if (!o) return send(res, 404, { error: 'order_not_found' });
        o.events = db.all('SELECT kind, detail, at FROM order_events WHERE order_ref = ? ORDER BY seq', parts[1]);
        return send(res, 200, o);
      }
      if (req.method === 'GET' && url.pathname === '/stats') {
        const rows = db.all('SELECT state, count(*) AS n FROM orders GROUP BY state');
        return send(res, 200, { db: db.kind, checks: CHECKS, node: process.version, states: rows });
      }
      send(res, 404, { error: 'not_found' });
    } catch (e) {
      send(res, 500, { error: 'internal', detail: String(e && e.stack || e) });
    }
  });
  server.keepAliveTimeout = 65000;
  server.listen(PORT, '127.0.0.1', () => {
    console.log(`node-bench listening on ${PUBLIC_URL} (Node ${process.version}, ${db.kind}, checks ${CHECKS}, merchant ${MERCHANT_ID})`);
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
