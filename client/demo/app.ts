/**
 * The demo page served by the relay: shared notes on one document, presence, connection and
 * saved indicators, all through the client SDK. Page parameters: ?doc=<name>&name=<you>&token=<jwt>.
 */
import { createClient, type Space, type SpaceStatus, type SyncClient } from '../index.js'
import { bindTextarea } from './textarea-binding.js'

const COLORS = ['#3563e9', '#16924f', '#c2410c', '#9333ea', '#0e7490', '#be185d', '#4d7c0f', '#b45309']
const NAMES = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Radia', 'Leslie']

interface Presence {
  name: string
  color: string
}

declare global {
  interface Window {
    /** For people poking around in the console, and for the browser tests. */
    yrelayDemo: { sync: SyncClient; space: Space }
  }
}

const params = new URLSearchParams(location.search)
const docName = params.get('doc') ?? 'demo/notes'
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T

function myName(): string {
  const given = params.get('name') ?? localStorage.getItem('yrelay-demo-name')
  return given || NAMES[Math.floor(Math.random() * NAMES.length)]!
}

const sync = createClient({ url: location.origin, token: params.get('token') })
const space = sync.open(docName)
window.yrelayDemo = { sync, space }

$('doc-name').textContent = docName
const notes = $<HTMLTextAreaElement>('notes')
const nameInput = $<HTMLInputElement>('name')

const me: Presence = { name: myName(), color: COLORS[space.doc.clientID % COLORS.length]! }
nameInput.value = me.name
space.awareness.setLocalStateField('user', me)
nameInput.addEventListener('input', () => {
  me.name = nameInput.value.trim() || 'Anonymous'
  localStorage.setItem('yrelay-demo-name', me.name)
  space.awareness.setLocalStateField('user', me)
})

function renderPeople(): void {
  const list = $('people')
  list.replaceChildren()
  const states = [...space.awareness.getStates().entries()].sort(([a], [b]) => (a === space.doc.clientID ? -1 : b === space.doc.clientID ? 1 : a - b))
  for (const [clientId, state] of states) {
    const user = (state as { user?: Presence }).user
    if (!user) continue
    const item = document.createElement('li')
    item.dataset.clientId = String(clientId)
    const avatar = document.createElement('span')
    avatar.className = 'avatar'
    avatar.style.background = user.color
    avatar.textContent = user.name.slice(0, 1).toUpperCase()
    const name = document.createElement('span')
    name.className = 'person'
    name.textContent = user.name
    item.append(avatar, name)
    if (clientId === space.doc.clientID) {
      const you = document.createElement('span')
      you.className = 'you'
      you.textContent = '(you)'
      item.append(you)
    }
    list.append(item)
  }
}

function renderStatus(status: SpaceStatus): void {
  const connection = $('connection')
  connection.dataset.state = status.deleted ? 'error' : status.connection
  connection.textContent = status.deleted ? 'deleted' : status.connection === 'online' && !status.synced ? 'syncing' : status.connection
  const saved = $('saved')
  saved.hidden = status.deleted !== null
  saved.dataset.state = status.saved ? 'saved' : 'saving'
  saved.textContent = status.saved ? 'saved' : `saving ${status.pending}`
  const banner = $('banner')
  if (status.deleted) {
    const when = status.deleted.deletedAt ? new Date(status.deleted.deletedAt).toLocaleString() : 'recently'
    banner.textContent = `This document was deleted ${when}${status.deleted.deletedBy ? ` by ${status.deleted.deletedBy}` : ''}. Its local copy was removed.`
    banner.hidden = false
    banner.dataset.kind = 'deleted'
    notes.disabled = true
    $('attach').hidden = true
  } else if (status.error && status.connection !== 'online') {
    banner.textContent = `${status.error.message} (${status.error.code})`
    banner.hidden = false
    banner.dataset.kind = 'error'
  } else {
    banner.hidden = true
  }
}

space.awareness.on('change', renderPeople)
space.on('status', renderStatus)
renderStatus(space.status)
renderPeople()

interface Attachment {
  key: string
  name: string
  size: number
  type: string
}

const attachments = space.doc.getArray<Attachment>('attachments')
const progress = $<HTMLProgressElement>('upload-progress')
const uploadState = $('upload-state')

function renderAttachments(): void {
  const list = $('files')
  list.replaceChildren()
  for (const file of attachments.toArray()) {
    const item = document.createElement('li')
    const link = document.createElement('a')
    link.href = '#'
    link.dataset.key = file.key
    link.textContent = file.name
    link.addEventListener('click', (event) => {
      event.preventDefault()
      void download(file)
    })
    item.append(link, ` · ${formatBytes(file.size)}`)
    list.append(item)
  }
}

async function download(file: Attachment): Promise<void> {
  const url = await sync.blobs.downloadUrl(file.key)
  const link = document.createElement('a')
  link.href = url
  link.download = file.name
  link.click()
}

async function upload(file: File): Promise<void> {
  progress.value = 0
  uploadState.textContent = 'hashing…'
  try {
    const { key } = await sync.blobs.upload(file, {
      contentType: file.type || 'application/octet-stream',
      onProgress: ({ loaded, total }) => {
        progress.value = total === 0 ? 1 : loaded / total
        uploadState.textContent = `${formatBytes(loaded)} of ${formatBytes(total)}`
      },
    })
    attachments.push([{ key, name: file.name, size: file.size, type: file.type }])
    uploadState.textContent = 'uploaded'
  } catch (err) {
    uploadState.textContent = `upload failed: ${(err as Error).message}`
  }
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`
  return `${(n / 1024 / 1024).toFixed(1)} MB`
}

$<HTMLInputElement>('file').addEventListener('change', (event) => {
  const file = (event.target as HTMLInputElement).files?.[0]
  if (file) void upload(file)
})
attachments.observe(renderAttachments)
$('attach').hidden = false

await space.whenLoaded
bindTextarea(space.doc.getText('notes'), notes)
renderAttachments()
document.body.dataset.loaded = 'true'

if ('serviceWorker' in navigator) {
  // Caches the page and this script, so the demo reloads while offline and shows its replica.
  navigator.serviceWorker.register('/demo/sw.js', { scope: '/demo/' }).catch((err: unknown) => console.warn('service worker not registered', err))
}
