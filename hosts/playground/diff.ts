// What the engine changed in a frame, header by header and field by field,
// for the playground to highlight. Headers are paired from the innermost
// outwards while their names agree, so an encapsulated frame's inner headers
// meet the guest's originals and the outer Ethernet/IPv6/UDP/Geneve show as
// added (decapsulation: removed). Within a pair, fields are matched by name
// (and by order among fields of one name, such as Geneve options).

import type { Header, Field } from "./decode.js";

export type FieldMark = "same" | "changed" | "added" | "removed";
export interface MarkedField extends Field { mark: FieldMark; /** The other side's value of a changed field. */ other?: string }
export interface MarkedHeader extends Omit<Header, "fields"> { mark: "same" | "changed" | "added" | "removed"; fields: MarkedField[] }

export function compareHeaders(input: Header[], output: Header[]): { input: MarkedHeader[]; output: MarkedHeader[] } {
  const inMarked: MarkedHeader[] = input.map((h) => ({ ...h, mark: "removed", fields: h.fields.map((f) => ({ ...f, mark: "removed" as const })) }));
  const outMarked: MarkedHeader[] = output.map((h) => ({ ...h, mark: "added", fields: h.fields.map((f) => ({ ...f, mark: "added" as const })) }));
  for (let i = input.length - 1, j = output.length - 1; i >= 0 && j >= 0 && input[i].name === output[j].name; i--, j--) {
    const [a, b] = pairFields(input[i].fields, output[j].fields);
    const changed = a.some((f) => f.mark !== "same") || b.some((f) => f.mark !== "same");
    inMarked[i] = { ...input[i], mark: changed ? "changed" : "same", fields: a };
    outMarked[j] = { ...output[j], mark: changed ? "changed" : "same", fields: b };
  }
  return { input: inMarked, output: outMarked };
}

function pairFields(a: Field[], b: Field[]): [MarkedField[], MarkedField[]] {
  const key = (fields: Field[]) => { const seen = new Map<string, number>(); return fields.map((f) => { const n = seen.get(f.name) ?? 0; seen.set(f.name, n + 1); return `${f.name}#${n}`; }); };
  const ka = key(a), kb = key(b);
  const bByKey = new Map(kb.map((k, i) => [k, b[i]]));
  const aByKey = new Map(ka.map((k, i) => [k, a[i]]));
  const mark = (f: Field, other: Field | undefined, missing: FieldMark): MarkedField =>
    !other ? { ...f, mark: missing } : other.value === f.value ? { ...f, mark: "same" } : { ...f, mark: "changed", other: other.value };
  return [a.map((f, i) => mark(f, bByKey.get(ka[i]), "removed")), b.map((f, i) => mark(f, aByKey.get(kb[i]), "added"))];
}
