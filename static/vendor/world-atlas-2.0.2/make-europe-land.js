const topojson = require("topojson-client");
const topo = require("world-atlas/land-50m.json");
const land = topojson.feature(topo, topo.objects.land);
const W = -14, E = 34, S = 33, N = 63;  // the map's bounds, a margin around the member ports
const rings = [];
for (const f of land.features) {
  const polys = f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates;
  for (const poly of polys) {
    const ring = poly[0];
    if (!ring.some(([x, y]) => x >= W && x <= E && y >= S && y <= N)) continue;
    // Clamp to a wider box (the SVG clips the rest) and drop points closer than 0.08 degrees.
    const out = [];
    let last = null;
    for (let [x, y] of ring) {
      x = Math.max(W - 6, Math.min(E + 6, x)); y = Math.max(S - 4, Math.min(N + 4, y));
      if (last && Math.abs(x - last[0]) < 0.08 && Math.abs(y - last[1]) < 0.08) continue;
      last = [x, y];
      out.push([Math.round(x * 100) / 100, Math.round(y * 100) / 100]);
    }
    if (out.length >= 4) rings.push(out);
  }
}
process.stdout.write(JSON.stringify({source: "Natural Earth 1:50m land via world-atlas 2.0.2 (ISC); public domain data", bounds: [W, S, E, N], rings}));
