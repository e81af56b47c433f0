// A layer's counters as layerStat reports them (abi/counters.ts LayerStat).

import { LayerStat } from "../../abi/counters";
import { Layer } from "./layer";

export function layerStatValue(l: Layer, which: u32): f64 {
  switch (which) {
    case LayerStat.HitsIn: return <f64>l.hitsIn;
    case LayerStat.HitsOut: return <f64>l.hitsOut;
    case LayerStat.DefaultHitsIn: return <f64>l.defaultHitsIn;
    case LayerStat.DefaultHitsOut: return <f64>l.defaultHitsOut;
    case LayerStat.Denies: return <f64>l.denies;
  }
  return 0;
}
