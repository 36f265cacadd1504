// SPDX-License-Identifier: AGPL-3.0-or-later
//
// yanki.test.mjs - the unmodified yanki-connect client (npm, version
// pinned in package.json) drives anki-connectd: decks, models, notes,
// cards, media, tags, statistics, multi.  yanki-connect speaks API version
// 6 and throws on every {"error": ...} reply, so each check below also
// proves the reply envelope is what real AnkiConnect clients expect.
//
// Run by tests/check-node.sh with ANKICONNECTD_PORT set; prints one line
// per check and "N passed, M failed".
import { YankiConnect } from 'yanki-connect'

const port = Number(process.env.ANKICONNECTD_PORT)
const client = new YankiConnect({ autoLaunch: false, port })

let passed = 0
let failed = 0

async function check(name, fn) {
  try {
    await fn()
    passed++
    console.log(`ok   ${name}`)
  } catch (error) {
    failed++
    console.log(`FAIL ${name}: ${error?.stack ?? error}`)
  }
}

// JSON text with object keys sorted, so key order does not matter
function canon(v) {
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canon(v[k])}`)
      .join(',')}}`
  return JSON.stringify(v)
}

function eq(actual, expected, what = '') {
  const a = canon(actual)
  const b = canon(expected)
  if (a !== b) throw new Error(`${what} expected ${b}, got ${a}`)
}

function ok(cond, what) {
  if (!cond) throw new Error(`not true: ${what}`)
}

async function rejects(promise, text) {
  try {
    await promise
  } catch (error) {
    if (text && !String(error.message).includes(text))
      throw new Error(`error "${error.message}" lacks "${text}"`)
    return
  }
  throw new Error(`expected an error containing "${text}"`)
}

let noteIds = []
let cardIds = []

await check('miscellaneous: version, permission, reflect, profiles', async () => {
  eq(await client.miscellaneous.version(), 6)
  const perm = await client.miscellaneous.requestPermission()
  eq(perm.permission, 'granted')
  const reflect = await client.miscellaneous.apiReflect({ actions: null, scopes: ['actions'] })
  ok(reflect.actions.includes('addNote') && reflect.actions.length === 121, '121 actions')
  eq(await client.miscellaneous.getProfiles(), ['User 1'])
})

await check('deck: create, names, ids, config', async () => {
  const id = await client.deck.createDeck({ deck: 'Yanki::Sub' })
  ok(Number.isInteger(id), 'deck id')
  const names = await client.deck.deckNames()
  eq(names, ['Default', 'Yanki', 'Yanki::Sub'])
  const ids = await client.deck.deckNamesAndIds()
  eq(ids['Yanki::Sub'], id)
  const conf = await client.deck.getDeckConfig({ deck: 'Yanki::Sub' })
  eq(conf.id, 1)
  eq(conf.new.perDay, 20)
  const clone = await client.deck.cloneDeckConfigId({ cloneFrom: 1, name: 'Yanki options' })
  eq(await client.deck.setDeckConfigId({ configId: clone, decks: ['Yanki::Sub'] }), true)
  eq((await client.deck.getDeckConfig({ deck: 'Yanki::Sub' })).name, 'Yanki options')
})

await check('model: names, fields, templates, create, change', async () => {
  const names = await client.model.modelNames()
  ok(names.includes('Basic') && names.includes('Cloze'), 'stock models')
  eq(await client.model.modelFieldNames({ modelName: 'Basic' }), ['Front', 'Back'])
  const tmpl = await client.model.modelTemplates({ modelName: 'Basic' })
  eq(tmpl['Card 1'].Front, '{{Front}}')
  const created = await client.model.createModel({
    cardTemplates: [{ Back: '{{FrontSide}}<hr>{{Reading}}', Front: '{{Expression}}' }],
    css: '.card { font-size: 30px; }',
    inOrderFields: ['Expression', 'Reading'],
    modelName: 'Yanki Vocab',
  })
  eq(created.name, 'Yanki Vocab')
  await client.model.modelFieldAdd({ fieldName: 'Notes', index: 2, modelName: 'Yanki Vocab' })
  eq(await client.model.modelFieldNames({ modelName: 'Yanki Vocab' }), [
    'Expression',
    'Reading',
    'Notes',
  ])
  await client.model.updateModelStyling({ model: { css: '.card{}', name: 'Yanki Vocab' } })
  eq(await client.model.modelStyling({ modelName: 'Yanki Vocab' }), { css: '.card{}' })
  const found = await client.model.findModelsByName({ modelNames: ['Yanki Vocab'] })
  eq(found[0].flds.length, 3)
})

await check('note: add, duplicates, find, info, update', async () => {
  const id = await client.note.addNote({
    note: {
      deckName: 'Yanki::Sub',
      fields: { Expression: '食べる', Reading: 'たべる' },
      modelName: 'Yanki Vocab',
      tags: ['yanki', 'verb'],
    },
  })
  ok(Number.isInteger(id), 'note id')
  const more = await client.note.addNotes({
    notes: [
      { deckName: 'Default', fields: { Back: 'b1', Front: 'f1' }, modelName: 'Basic' },
      { deckName: 'Default', fields: { Back: 'b2', Front: 'f2' }, modelName: 'Basic' },
    ],
  })
  eq(more.length, 2)
  noteIds = [id, ...more]
  await rejects(
    client.note.addNote({
      note: { deckName: 'Default', fields: { Front: 'f1' }, modelName: 'Basic' },
    }),
    'duplicate',
  )
  const can = await client.note.canAddNotes({
    notes: [
      { deckName: 'Default', fields: { Front: 'f1' }, modelName: 'Basic' },
      { deckName: 'Default', fields: { Front: 'new' }, modelName: 'Basic' },
    ],
  })
  eq(can, [false, true])
  const detail = await client.note.canAddNotesWithErrorDetail({
    notes: [{ deckName: 'Default', fields: { Front: 'f1' }, modelName: 'Basic' }],
  })
  eq(detail[0].canAdd, false)
  eq((await client.note.findNotes({ query: 'Expression:食べる' })).length, 1)
  const info = await client.note.notesInfo({ notes: [id] })
  eq(info[0].fields.Reading.value, 'たべる')
  eq(info[0].tags, ['verb', 'yanki'])
  cardIds = info[0].cards
  await client.note.updateNoteFields({ note: { fields: { Reading: 'たべる!' }, id } })
  await client.note.updateNote({ note: { id, tags: ['updated'] } })
  const after = await client.note.notesInfo({ notes: [id] })
  eq(after[0].fields.Reading.value, 'たべる!')
  eq(after[0].tags, ['updated'])
})

await check('tags: add, get, remove, replace, clear', async () => {
  await client.note.addTags({ notes: noteIds, tags: 'shared extra' })
  ok((await client.note.getTags()).includes('shared'), 'tag registered')
  eq(await client.note.getNoteTags({ note: noteIds[1] }), ['extra', 'shared'])
  await client.note.removeTags({ notes: noteIds, tags: 'extra' })
  await client.note.replaceTags({
    notes: noteIds,
    replace_with_tag: 'common',
    tag_to_replace: 'shared',
  })
  eq(await client.note.getNoteTags({ note: noteIds[1] }), ['common'])
  await client.note.clearUnusedTags()
  ok(!(await client.note.getTags()).includes('extra'), 'unused tag cleared')
})

await check('card: info, suspend, ease, search', async () => {
  const info = await client.card.cardsInfo({ cards: cardIds })
  eq(info[0].deckName, 'Yanki::Sub')
  ok(info[0].question.includes('食べる'), 'rendered question')
  ok(info[0].answer.includes('たべる!'), 'rendered answer')
  eq(await client.card.suspend({ cards: cardIds }), true)
  eq(await client.card.areSuspended({ cards: cardIds }), [true])
  await client.card.unsuspend({ cards: cardIds })
  eq(await client.card.suspended({ card: cardIds[0] }), false)
  eq(await client.card.setEaseFactors({ cards: cardIds, easeFactors: [2600] }), [true])
  eq(await client.card.getEaseFactors({ cards: cardIds }), [2600])
  eq(await client.card.cardsToNotes({ cards: cardIds }), [noteIds[0]])
  eq((await client.card.findCards({ query: 'deck:Yanki::Sub' })).length, 1)
  const mod = await client.card.cardsModTime({ cards: cardIds })
  eq(mod[0].cardId, cardIds[0])
  await client.deck.changeDeck({ cards: cardIds, deck: 'Yanki' })
  eq(await client.deck.getDecks({ cards: cardIds }), { Yanki: cardIds })
})

await check('media: store, list, retrieve, delete', async () => {
  const data = Buffer.from('yanki media bytes').toString('base64')
  eq(await client.media.storeMediaFile({ data, filename: '_yanki.txt' }), '_yanki.txt')
  eq(await client.media.getMediaFilesNames({ pattern: '_yanki*' }), ['_yanki.txt'])
  eq(await client.media.retrieveMediaFile({ filename: '_yanki.txt' }), data)
  ok((await client.media.getMediaDirPath()).endsWith('collection.media'), 'media dir')
  await client.media.deleteMediaFile({ filename: '_yanki.txt' })
  eq(await client.media.retrieveMediaFile({ filename: '_yanki.txt' }), false)
})

await check('statistic: reviews in and out', async () => {
  const now = Date.now()
  await client.statistic.insertReviews({
    reviews: [[now, cardIds[0], -1, 3, 4, 1, 2500, 5000, 1]],
  })
  eq(await client.statistic.getNumCardsReviewedToday(), 1)
  const revs = await client.statistic.getReviewsOfCards({ cards: cardIds.map(String) })
  ok(Object.keys(revs).length === 1, 'one card')
  eq(await client.statistic.getLatestReviewID({ deck: 'Yanki' }), now)
})

await check('multi: mixed versions', async () => {
  const r = await client.miscellaneous.multi({
    actions: [
      { action: 'deckNames' },
      { action: 'deckNames', version: 6 },
      { action: 'nope', version: 6 },
    ],
  })
  eq(r[0], ['Default', 'Yanki', 'Yanki::Sub'])
  eq(r[1], { error: null, result: ['Default', 'Yanki', 'Yanki::Sub'] })
  eq(r[2], { error: 'unsupported action', result: null })
})

await check('graphical: headless answers', async () => {
  eq(await client.graphical.guiSelectedNotes(), [])
  await rejects(client.graphical.guiCurrentCard(), 'Gui review is not currently active.')
})

await check('cleanup: delete notes and decks', async () => {
  await client.note.deleteNotes({ notes: noteIds })
  eq(await client.note.findNotes({ query: '' }), [])
  await client.deck.deleteDecks({ cardsToo: true, decks: ['Yanki'] })
  eq(await client.deck.deckNames(), ['Default'])
})

console.log(`${passed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
