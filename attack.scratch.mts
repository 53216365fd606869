import { startHostileClients } from './test/helpers/hostile-clients.ts'
import { mintToken } from './src/cli/token.ts'
const base = process.argv[2]
const secret = 'hostile-bodies-test-secret-0123456789abcdef'
const token = (sub: string) => mintToken({ upstreamApiKeys: {}, jwtSecret: secret }, { sub })
const victim = await token('victim')
const call = async () => { const t = performance.now(); const r = await fetch(base + '/v1/chat/completions', { method: 'POST', headers: { authorization: 'Bearer ' + victim, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] }) }); await r.arrayBuffer(); return performance.now() - t }
for (let i = 0; i < 30; i++) await call()
const a = await startHostileClients({ base, bodyLimit: 10 * 1024 * 1024, bytesPerSecond: 25_000_000, users: [{ user: 'attacker', token: await token('attacker'), connections: 6 }] })
const t0 = performance.now(); const slow: string[] = []
for (let i = 0; i < 150; i++) { const at = performance.now() - t0; const ms = await call(); if (ms > 30) slow.push(`${at.toFixed(0)}:${ms.toFixed(0)}`) }
const r = await a.stop()
console.log('slow calls (at ms: took ms)', slow.join(' '))
console.log(JSON.stringify(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, { n: v.statuses.length, s: [...new Set(v.statuses)] }]))))
