import { startFakeUpstream } from './test/helpers/fake-upstream.ts'
const u = await startFakeUpstream(); console.log(u.url); setInterval(() => {}, 1000)
