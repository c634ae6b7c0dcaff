// Taking a shadowed method off one object again without costing it V8's fast
// shape. An object that turns into a dictionary stays one, and Node's code
// then looks up every property of it the slow way: for a kept-alive socket,
// on every later request (test/fixtures/fast-shapes.js checks each path).

/**
 * V8 before 12 (Node 20) steps an object back to its previous shape when the
 * property deleted is the last one added (so shadows come off last-added
 * first). V8 12 on (Node 22 and later) turns any object that loses a property
 * into a dictionary.
 */
const DELETE_KEEPS_SHAPE = Number(process.versions.v8.split('.')[0]) < 12;

/**
 * Puts `name` back as it was before a shadow: `hadOwn` and `orig` describe it
 * then. Where deleting would cost the shape, an inherited method stays as an
 * own property holding the same function: the object calls what it called
 * before, but no longer sees a later patch of the prototype's method.
 */
export function takeOffShadow(obj: object, name: string, hadOwn: boolean, orig: unknown): void {
  const o = obj as Record<string, unknown>;
  if (hadOwn || !DELETE_KEEPS_SHAPE) o[name] = orig;
  else delete o[name];
}
