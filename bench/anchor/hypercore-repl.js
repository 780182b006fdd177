// Hypercore 11 replication over loopback TCP, the anchor for docket's
// catch-up figure (make bench-anchor). A writer core appends N blocks of
// BLOCK bytes (batched appends, not timed), then a reader in another process
// downloads all of them over one TCP connection; blocks/s of the download,
// from connecting to the last block held, is printed as
//   ANCHOR <blocks> <ms> <blocks/s>
// Usage: node hypercore-repl.js DIR N [BLOCK]
'use strict'
const Hypercore = require('hypercore')
const net = require('net')
const path = require('path')
const { fork } = require('child_process')

async function writer (dir, n, block) {
  const core = new Hypercore(path.join(dir, 'writer'))
  await core.ready()
  const batch = []
  const buf = Buffer.alloc(block, 7)
  for (let i = core.length; i < n; i++) {
    batch.push(buf)
    if (batch.length === 1000 || i === n - 1) {
      await core.append(batch)
      batch.length = 0
    }
  }
  const server = net.createServer(socket => {
    const s = core.replicate(false)
    socket.pipe(s).pipe(socket)
    s.on('error', () => {})
    socket.on('error', () => {})
  })
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = server.address().port
  const child = fork(__filename, ['reader', dir, core.key.toString('hex'), String(port), String(n)])
  child.on('exit', async code => {
    server.close()
    await core.close()
    process.exit(code)
  })
}

async function reader (dir, keyHex, port, n) {
  const core = new Hypercore(path.join(dir, 'reader'), Buffer.from(keyHex, 'hex'))
  await core.ready()
  const t0 = process.hrtime.bigint()
  const socket = net.connect(port, '127.0.0.1')
  const s = core.replicate(true)
  socket.pipe(s).pipe(socket)
  s.on('error', () => {})
  socket.on('error', () => {})
  await core.download({ start: 0, end: n }).done()
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  console.log('ANCHOR %d %s %d', n, ms.toFixed(1), Math.round(n / (ms / 1000)))
  socket.destroy()
  await core.close()
  process.exit(0)
}

if (process.argv[2] === 'reader') {
  reader(process.argv[3], process.argv[4], Number(process.argv[5]), Number(process.argv[6]))
    .catch(e => { console.error(e); process.exit(1) })
} else {
  const dir = process.argv[2]
  const n = Number(process.argv[3] || 100000)
  const block = Number(process.argv[4] || 426)
  writer(dir, n, block).catch(e => { console.error(e); process.exit(1) })
}
