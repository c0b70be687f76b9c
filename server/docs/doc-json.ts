/**
 * A document's content as JSON: `toJSON()` of each root type. A stored update does not say
 * which kind each root type was created as (Y.Map, Y.Array, Y.Text, Y.XmlFragment), so the
 * kind is read off its content before asking for it.
 */
import * as Y from 'yjs'

type RootType = ReturnType<Y.Doc['get']>

function kindOf(type: RootType): 'map' | 'array' | 'text' | 'xml' {
  if (type._start === null) return type._map.size > 0 ? 'map' : 'array'
  for (let item: Y.Item | null = type._start; item !== null; item = item.right) {
    const content = item.content
    if (content instanceof Y.ContentString || content instanceof Y.ContentFormat || content instanceof Y.ContentEmbed) return 'text'
    if (content instanceof Y.ContentType && (content.type instanceof Y.XmlElement || content.type instanceof Y.XmlText)) return 'xml'
  }
  return 'array'
}

export function docToJson(update: Uint8Array): Record<string, unknown> {
  const doc = new Y.Doc()
  try {
    Y.applyUpdate(doc, update)
    const out: Record<string, unknown> = {}
    for (const [name, type] of [...doc.share]) {
      switch (kindOf(type)) {
        case 'map':
          out[name] = doc.getMap(name).toJSON()
          break
        case 'text':
          out[name] = doc.getText(name).toJSON()
          break
        case 'xml':
          out[name] = doc.getXmlFragment(name).toJSON()
          break
        default:
          out[name] = doc.getArray(name).toJSON()
      }
    }
    return out
  } finally {
    doc.destroy()
  }
}
