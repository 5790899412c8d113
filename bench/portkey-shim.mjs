// portkey-shim.mjs: loaded with `node --import` before Portkey's gateway
// (@portkey-ai/gateway 1.15.2) by bench/run.sh.
//
// On Node 20 the gateway's streaming path fails with "TypeError: immutable":
// it sets headers on the Response that fetch() returned, whose headers are
// immutable (upstream issues Portkey-AI/gateway#1389 and #1550; fix proposed
// in PR #1551). This wraps fetch so every upstream response is copied into a
// new Response with mutable headers. The copy streams the same body (nothing
// is buffered), but it does add one Response and one Headers object per
// request to Portkey's cost; the report says so.
const upstreamFetch = globalThis.fetch;
globalThis.fetch = async (...args) => {
    const r = await upstreamFetch(...args);
    return new Response(r.body, { status: r.status, statusText: r.statusText, headers: new Headers(r.headers) });
};
