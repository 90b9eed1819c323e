import Foundation
import JSON

/// A Frozen-Lake layout indexed `[x][y]` with `x` the row (spec §8.2).
public struct LakeMap: Equatable, Codable, Sendable {
    /// One cell of the lake.
    public enum Tile: Character, Codable, Sendable {
        /// The start cell `(0, 0)`.
        case start = "S"
        /// Walkable ice.
        case frozen = "F"
        /// A hole: ends the attempt (or costs 0.1 in recover mode).
        case hole = "H"
        /// The goal `(size−1, size−1)`.
        case goal = "G"
    }

    /// `tiles[x][y]`.
    public var tiles: [[Tile]]
    /// Side length.
    public var size: Int { tiles.count }

    /// Builds a map from rows such as `["SFFF", "FHFF", "HFFF", "FFFG"]` (row `x` is string `x`).
    /// Throws `invalidParameters` for a non-square map or unknown letters.
    public init(rows: [String]) throws {
        let parsed = rows.map { $0.map { Tile(rawValue: $0) } }
        guard !rows.isEmpty, parsed.allSatisfy({ $0.count == rows.count && !$0.contains(nil) }) else {
            throw EnvironmentError.invalidParameters(
                environment: "meta_frozen_lake",
                fields: [FieldError(field: "map", expected: "a square list of rows over the letters S, F, H, G")])
        }
        tiles = parsed.map { $0.compactMap { $0 } }
    }

    /// The map as row strings.
    public var rows: [String] { tiles.map { String($0.map(\.rawValue)) } }

    /// The tile at `(x, y)`.
    public subscript(x: Int, y: Int) -> Tile {
        get { tiles[x][y] }
        set { tiles[x][y] = newValue }
    }

    /// Whether a 4-connected path of non-hole cells joins `(0,0)` to `(size−1, size−1)` (BFS).
    public var hasPath: Bool {
        let n = size
        guard n > 0, self[0, 0] != .hole else { return false }
        var seen = [[Bool]](repeating: [Bool](repeating: false, count: n), count: n)
        var queue = [(0, 0)]
        seen[0][0] = true
        var head = 0
        while head < queue.count {
            let (x, y) = queue[head]
            head += 1
            if x == n - 1 && y == n - 1 { return true }
            for (dx, dy) in [(1, 0), (-1, 0), (0, 1), (0, -1)] {
                let (nx, ny) = (x + dx, y + dy)
                guard nx >= 0, ny >= 0, nx < n, ny < n, !seen[nx][ny], self[nx, ny] != .hole else { continue }
                seen[nx][ny] = true
                queue.append((nx, ny))
            }
        }
        return false
    }

    /// A random map: each cell frozen with probability `frozenProbability`, else a hole; start and
    /// goal in the corners; drawn again until a path exists (spec §8.2).
    public static func random(size: Int, frozenProbability: Double = 0.8, using rng: inout SeededGenerator) -> LakeMap {
        while true {
            var tiles = (0..<size).map { _ in
                (0..<size).map { _ in rng.nextUnit() < frozenProbability ? Tile.frozen : Tile.hole }
            }
            tiles[0][0] = .start
            tiles[size - 1][size - 1] = .goal
            let map = LakeMap(checkedTiles: tiles)
            if map.hasPath { return map }
        }
    }

    private init(checkedTiles: [[Tile]]) { tiles = checkedTiles }
}
