/** Binds a plain textarea to a Y.Text: local typing becomes minimal edits, remote edits keep the caret. */
import * as Y from 'yjs'

const LOCAL = Symbol('textarea')

export function bindTextarea(text: Y.Text, el: HTMLTextAreaElement): () => void {
  let shown = text.toString()
  el.value = shown

  const onInput = () => {
    const next = el.value
    // The edit is what lies between the common prefix and the common suffix.
    let start = 0
    while (start < shown.length && start < next.length && shown[start] === next[start]) start++
    let endShown = shown.length
    let endNext = next.length
    while (endShown > start && endNext > start && shown[endShown - 1] === next[endNext - 1]) {
      endShown--
      endNext--
    }
    text.doc!.transact(() => {
      if (endShown > start) text.delete(start, endShown - start)
      if (endNext > start) text.insert(start, next.slice(start, endNext))
    }, LOCAL)
    shown = next
  }

  const onChange = (event: Y.YTextEvent, tx: Y.Transaction) => {
    if (tx.origin === LOCAL) return
    let selStart = el.selectionStart
    let selEnd = el.selectionEnd
    let index = 0
    for (const op of event.delta) {
      if (op.retain !== undefined) {
        index += op.retain
      } else if (typeof op.insert === 'string') {
        const n = op.insert.length
        if (index < selStart) selStart += n
        if (index < selEnd) selEnd += n
        index += n
      } else if (op.delete !== undefined) {
        const n = op.delete
        selStart = index < selStart ? Math.max(index, selStart - n) : selStart
        selEnd = index < selEnd ? Math.max(index, selEnd - n) : selEnd
      }
    }
    shown = text.toString()
    el.value = shown
    if (document.activeElement === el) el.setSelectionRange(selStart, selEnd)
  }

  el.addEventListener('input', onInput)
  text.observe(onChange)
  return () => {
    el.removeEventListener('input', onInput)
    text.unobserve(onChange)
  }
}
