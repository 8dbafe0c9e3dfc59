// A round-robin HTTP load balancer for the self-hosted demo and tests, standing in for the nginx
// of docs/operate.md: each request to the next node in turn; a node that refuses the connection or
// drops it before answering is skipped and the request goes to the next (nginx's
// `proxy_next_upstream error`), so a node that dies costs nothing but its in-flight answers. Request
// bodies are read whole first (the collector's are at most a megabyte), so one can be sent again.
import http from "node:http";

/** Most a request body may be here (the collector's own caps are far lower). */
const MAX_BODY = 8 * 1024 * 1024;

/**
 * Listens on `host:port` and balances over `upstreams` (`http://host:port` each). Returns
 * `{ url, close() }`.
 */
export async function startBalancer({ host = "127.0.0.1", port, upstreams }) {
  let turn = 0;
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    let size = 0;
    for await (const c of req) {
      size += c.length;
      if (size > MAX_BODY) {
        res.writeHead(413).end("too large");
        return;
      }
      chunks.push(c);
    }
    const body = Buffer.concat(chunks);
    for (let tried = 0; tried < upstreams.length; tried++) {
      const upstream = new URL(upstreams[turn++ % upstreams.length]);
      try {
        await forward(upstream, req, body, res);
        return;
      } catch (e) {
        if (res.headersSent) return void res.destroy(e);
      }
    }
    res.writeHead(502, { "content-type": "text/plain" }).end("no node answered");
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  return {
    url: `http://${host}:${server.address().port}`,
    close: () => new Promise((r) => {
      server.closeAllConnections();
      server.close(r);
    }),
  };
}

/** Sends one request to `upstream` and pipes its answer to `res`; rejects if the node does not answer. */
function forward(upstream, req, body, res) {
  return new Promise((resolve, reject) => {
    const out = http.request({
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers: { ...withoutFraming(req.headers), "content-length": String(body.length) },
      timeout: 30000,
    }, (answer) => {
      res.writeHead(answer.statusCode, answer.rawHeaders);
      answer.pipe(res);
      answer.on("end", resolve);
      answer.on("error", reject);
    });
    out.on("timeout", () => out.destroy(new Error("the node did not answer in 30 s")));
    out.on("error", reject);
    out.end(body);
  });
}

/** Request headers without how the body was framed (it is sent again whole, with a length). */
function withoutFraming(headers) {
  const { "transfer-encoding": _, "content-length": __, ...rest } = headers;
  return rest;
}
