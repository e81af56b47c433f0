// Tables for people: fit the width, wrap rather than cut, nested values in words.
import { describe, it, expect } from "vitest";
import { table, wrap, cellText } from "../../hosts/cli/table.js";

describe("CLI tables", () => {
  it("fit 80 columns by wrapping the widest cells at spaces and commas, losing nothing", () => {
    const rows = [{
      name: "allow-icmpv6-in-from-vpc", dir: "in", hosts: "subnet:fd00:1024::/64, ip:2001:db8:1234:5678::77, instance:172.30.0.6,172.30.0.7",
      protocols: "icmpv6 128/0, tcp, udp", ports: "80, 443, 8000-8080, 9000-9100",
    }];
    const text = table(rows, undefined, { width: 80 });
    const lines = text.split("\n");
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(80);
    expect(lines.length).toBeGreaterThan(2);
    // every column, read top to bottom, still says exactly what its cell said
    const head = lines[0];
    const starts = ["NAME", "DIR", "HOSTS", "PROTOCOLS", "PORTS"].map((t) => head.indexOf(t));
    Object.values(rows[0]).forEach((value, c) => {
      const column = lines.slice(1).map((l) => l.slice(starts[c], starts[c + 1] ?? undefined)).join("");
      expect(column.replace(/\s+/g, "")).toBe(value.replace(/\s+/g, ""));
    });
    expect(text).toMatch(/instance:172\.30\.0\.6,$/m); // broken after commas, not inside an address
  });

  it("keeps short tables on one line per row and right-aligns numbers", () => {
    expect(table([{ port: "web-a", flows: 7 }, { port: "db-b", flows: 1234 }], undefined, { right: ["flows"], width: 80 })).toBe(
      "PORT   FLOWS\nweb-a      7\ndb-b    1234");
  });

  it("writes nested values as people read them", () => {
    expect(cellText([{ type: "ip", value: "1.2.3.4" }, "tcp"])).toBe("type ip value 1.2.3.4, tcp");
    expect(cellText(undefined)).toBe("-");
    expect(cellText([])).toBe("-");
  });

  it("wraps at word boundaries, and mid-word only when a word is longer than the line", () => {
    expect(wrap("tcp, udp, icmp", 9)).toEqual(["tcp, udp,", "icmp"]);
    expect(wrap("abcdefghij", 4)).toEqual(["abcd", "efgh", "ij"]);
    expect(wrap("subnet:198.51.100.0/24", 16)).toEqual(["subnet:", "198.51.100.0/24"]);
  });
});
