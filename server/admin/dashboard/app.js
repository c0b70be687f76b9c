// The admin dashboard: a static page that reads /admin/api/* with the admin token, which it
// keeps in sessionStorage for this tab only. Data is put in the page as text, never as HTML.
const KEY = 'yrelay-admin-token'
const $ = (id) => document.getElementById(id)
let timer = null
let lookedUp = null

async function api(path) {
  const res = await fetch(path, { headers: { authorization: `Bearer ${sessionStorage.getItem(KEY)}` } })
  const body = await res.json()
  if (res.status === 401) {
    signOut(body.error.message)
    throw new Error(body.error.message)
  }
  if (!res.ok) throw new Error(body.error?.message ?? `HTTP ${res.status}`)
  return body
}

function bytes(n) {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++ }
  return `${v.toFixed(1)} ${units[i]}`
}

function fill(tableId, rows, emptyText) {
  const body = $(tableId).tBodies[0]
  body.replaceChildren()
  if (rows.length === 0) {
    const td = body.insertRow().insertCell()
    td.colSpan = $(tableId).tHead.rows[0].cells.length
    td.className = 'empty'
    td.textContent = emptyText
    return
  }
  for (const cells of rows) {
    const tr = body.insertRow()
    for (const cell of cells) {
      const td = tr.insertCell()
      if (cell instanceof Node) td.append(cell)
      else td.textContent = String(cell)
    }
  }
}

function docLink(name) {
  const a = document.createElement('a')
  a.textContent = name
  a.dataset.doc = name
  a.addEventListener('click', () => showDoc(name))
  return a
}

async function refresh() {
  try {
    const o = await api('/admin/api/overview')
    $('error').textContent = ''
    $('instance').textContent = `instance ${o.instanceId} · up ${Math.round(o.uptimeSeconds)} s`
    $('connections').textContent = String(o.connections)
    $('rooms-count').textContent = String(o.rooms.length)
    $('storage').textContent = o.storage.ready ? 'ready' : 'unreachable'
    $('storage').className = `big ${o.storage.ready ? 'ok' : 'bad'}`
    $('storage-detail').textContent = o.storage.ready ? `${o.storage.kind}, answered in ${o.storage.latencyMs} ms` : `${o.storage.kind}: ${o.storage.error}`
    $('process').textContent = `RSS ${bytes(o.process.rssBytes)}, heap ${bytes(o.process.heapUsedBytes)}`
    $('redis').textContent = { off: 'not used', connected: 'connected', down: 'down' }[o.redis]
    $('redis').className = o.redis === 'down' ? 'bad' : ''
    fill('rooms', o.rooms.map((r) => [docLink(r.name), r.connections, r.state]), 'no document is open')
    fill('refusals', o.refusals.map((r) => [new Date(r.at).toLocaleTimeString(), r.code, r.via, r.doc ?? '', r.message]), 'no refusals since start')
    fill('requests', Object.entries(o.storage.requests).map(([op, c]) => [op, c.ok, c.error, bytes(c.bytes)]), 'no requests yet')
    await loadUsage()
  } catch (err) {
    $('error').textContent = `Could not refresh: ${err.message}`
  }
}

// "3 of 5 (60 %)", marked when near or past the limit; "no limit" when none applies.
function meter(used, limit, format = String) {
  const span = document.createElement('span')
  if (!limit) {
    span.textContent = 'no limit'
    return span
  }
  const pct = limit.value === 0 ? 100 : Math.round((used / limit.value) * 100)
  span.textContent = `${format(used)} of ${format(limit.value)} (${pct} %)`
  span.className = pct >= 100 ? 'bad' : pct >= 90 ? 'warn' : ''
  return span
}

async function loadUsage() {
  const query = lookedUp === null ? '' : `?scope=${encodeURIComponent(lookedUp)}`
  const u = await api(`/admin/api/usage${query}`)
  const rows = u.items.map((s) => {
    const sources = [...new Set([s.limits.storedBytes, s.limits.documents, ...s.prefixes.map((p) => p.limit)].filter(Boolean).map((l) => l.source))]
    const prefixes = document.createElement('span')
    for (const p of s.prefixes) {
      const line = document.createElement('div')
      line.append(`${p.prefix}: `, meter(p.documents, p.limit))
      prefixes.append(line)
    }
    return [
      s.scope === '' ? '/ (bucket root)' : s.scope,
      bytes(s.bytes),
      meter(s.bytes, s.limits.storedBytes, bytes),
      s.documents,
      meter(s.documents, s.limits.documents),
      s.prefixes.length === 0 ? '–' : prefixes,
      `${s.blobs} (${bytes(s.blobBytes)})`,
      sources.length === 0 ? 'no limits set' : sources.join('; '),
    ]
  })
  fill('usage', rows, 'no scope in view: open a document or look a scope up')
}

async function lookUpScope(event) {
  event.preventDefault()
  lookedUp = $('scope').value.trim() === '/' ? '' : $('scope').value.trim()
  try {
    await loadUsage()
  } catch (err) {
    lookedUp = null
    $('error').textContent = `Could not look up the scope: ${err.message}`
  }
}

async function listDocs(event) {
  event?.preventDefault()
  try {
    const list = await api(`/admin/api/docs?prefix=${encodeURIComponent($('prefix').value)}`)
    const rows = list.items.map((d) => [docLink(d.name), d.snapshots, d.logs, bytes(d.bytes), new Date(d.updatedAt).toLocaleString()])
    fill('docs', rows, 'no documents')
  } catch (err) {
    $('error').textContent = `Could not list documents: ${err.message}`
  }
}

async function showDoc(name) {
  try {
    const d = await api(`/admin/api/doc?name=${encodeURIComponent(name)}`)
    $('doc-view').hidden = false
    $('doc-name').textContent = d.name
    $('doc-summary').textContent = `${d.snapshots.length} snapshot(s), ${d.logs.length} log(s), ${bytes(d.storedBytes)} stored; state ${bytes(d.stateBytes)}; last writer ${d.lastWriters[0]?.instanceId ?? '?'}`
    $('doc-content').textContent = JSON.stringify(d.content, null, 2)
    fill('doc-objects', [...d.snapshots, ...d.logs].map((o) => [o.key.slice(d.keyPrefix.length), o.kind, bytes(o.size), o.writer ?? '?', o.writtenAt ?? '', o.contains ?? '']), 'no objects')
    $('doc-view').scrollIntoView()
  } catch (err) {
    $('error').textContent = `Could not open ${name}: ${err.message}`
  }
}

function signOut(message = '') {
  sessionStorage.removeItem(KEY)
  clearInterval(timer)
  $('app').hidden = true
  $('sign-out').hidden = true
  $('login').hidden = false
  $('login-error').textContent = message
}

function start() {
  $('login').hidden = true
  $('app').hidden = false
  $('sign-out').hidden = false
  void refresh().then(() => listDocs())
  timer = setInterval(refresh, 2000)
}

$('login').addEventListener('submit', (event) => {
  event.preventDefault()
  sessionStorage.setItem(KEY, $('token').value)
  $('token').value = ''
  start()
})
$('sign-out').addEventListener('click', () => signOut())
$('doc-search').addEventListener('submit', listDocs)
$('scope-search').addEventListener('submit', lookUpScope)
if (sessionStorage.getItem(KEY)) start()
else signOut()
