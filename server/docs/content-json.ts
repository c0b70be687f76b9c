/**
 * A document's content as JSON, for people and apps (inspect, dashboard, GET /v1/docs/<name>).
 * An update does not say which kind each root type is, so the kind is read from its first
 * content: map entries → Y.Map,
 * text or formatting → Y.Text, XML nodes → Y.XmlFragment, anything else → Y.Array.
 */
import * as Y from 'yjs'

export function contentJson(update: Uint8Array): Record<string, unknown> {
  const doc = new Y.Doc()
  try {
    Y.applyUpdate(doc, update)
    const out: Record<string, unknown> = {}
    for (const name of [...doc.share.keys()]) out[name] = rootJson(doc, name)
    return out
  } finally {
    doc.destroy()
  }
}

function rootJson(doc: Y.Doc, name: string): unknown {
  const type = doc.share.get(name)!
  if (type._map.size > 0 && type._start === null) return doc.getMap(name).toJSON()
  let item = type._start
  while (item && item.deleted) item = item.right
  const content = item?.content
  if (content instanceof Y.ContentString || content instanceof Y.ContentFormat || content instanceof Y.ContentEmbed) {
    return doc.getText(name).toString()
  }
  if (content instanceof Y.ContentType && (content.type instanceof Y.XmlElement || content.type instanceof Y.XmlText)) {
    return doc.getXmlFragment(name).toString()
  }
  if (item === null && type._map.size === 0) return null
  return doc.getArray(name).toJSON()
}
