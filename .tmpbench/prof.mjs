import { readFileSync, readdirSync } from 'node:fs';
const f = readdirSync('/tmp/prof')[0];
const p = JSON.parse(readFileSync('/tmp/prof/' + f, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = p.timeDeltas; let t = 0;
const times = [];
for (let i = 0; i < p.samples.length; i++) { t += dt[i]; const n = byId.get(p.samples[i]); const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber}`; self.set(k, (self.get(k) ?? 0) + dt[i]); times.push([t, n]); }
console.log('total ms', ((p.endTime - p.startTime) / 1000).toFixed(0));
const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 25);
for (const [k, v] of top) console.log((v / 1000).toFixed(1).padStart(7), k);
// timeline: per 50ms bucket, most common url
const buckets = new Map();
for (const [tt, n] of times) { const b = Math.floor(tt / 50000); const u = n.callFrame.functionName === '(idle)' ? 'IDLE' : (n.callFrame.url.split('/').slice(-1)[0] || n.callFrame.functionName); const m = buckets.get(b) ?? new Map(); m.set(u, (m.get(u) ?? 0) + 1); buckets.set(b, m); }
for (const [b, m] of [...buckets].sort((a, b) => a[0] - b[0])) console.log(b * 50, 'ms', [...m].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([u, c]) => `${u}:${c}`).join(' '));
