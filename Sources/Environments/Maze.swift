import Foundation
import JSON

/// A square grid of walls and free cells indexed `(row, col)` (spec §8.5).
public struct Maze: Equatable, Sendable {
    /// Side length (odd for generated mazes).
    public let size: Int
    private var walls: [Bool]

    /// An all-free maze of side `size` with walls on the border.
    public init(bordered size: Int) {
        self.size = size
        walls = [Bool](repeating: false, count: size * size)
        for i in 0..<size {
            walls[i] = true
            walls[(size - 1) * size + i] = true
            walls[i * size] = true
            walls[i * size + size - 1] = true
        }
    }

    /// A hand-made maze from rows of `#` (wall) and `.` (free); throws unless square.
    public init(rows: [String]) throws {
        guard !rows.isEmpty, rows.allSatisfy({ $0.count == rows.count && $0.allSatisfy { $0 == "#" || $0 == "." } }) else {
            throw EnvironmentError.invalidParameters(
                environment: "mazerunner", fields: [FieldError(field: "maze", expected: "a square list of rows of '#' and '.'")])
        }
        size = rows.count
        walls = rows.flatMap { $0.map { $0 == "#" } }
    }

    /// Whether `(row, col)` is a wall; cells outside the grid count as walls.
    public func isWall(_ row: Int, _ col: Int) -> Bool {
        guard row >= 0, col >= 0, row < size, col < size else { return true }
        return walls[row * size + col]
    }

    /// Sets `(row, col)` to wall or free (ignored outside the grid).
    public mutating func setWall(_ row: Int, _ col: Int, _ value: Bool) {
        guard row >= 0, col >= 0, row < size, col < size else { return }
        walls[row * size + col] = value
    }

    /// Free cells in row-major order.
    public var freeCells: [GridCell] {
        (0..<size).flatMap { r in (0..<size).compactMap { c in isWall(r, c) ? nil : GridCell(r, c) } }
    }

    /// The rows as `#`/`.` strings.
    public var rows: [String] { (0..<size).map { r in String((0..<size).map { isWall(r, $0) ? "#" : "." }) } }

    /// Random aisles (complexity and density 0.75), then the open spawn area at the bottom with
    /// walls beside the start corridor (spec §8.5).
    public static func random(dimension: Int, using rng: inout SeededGenerator) -> Maze {
        let n = (dimension / 2) * 2 + 1
        var maze = Maze(bordered: n)
        let complexity = Int(0.75 * Double(5 * (2 * n)))
        let density = Int(0.75 * Double((n / 2) * (n / 2)))
        for _ in 0..<density {
            var x = rng.nextInt(below: n / 2 + 1) * 2
            var y = rng.nextInt(below: n / 2 + 1) * 2
            maze.setWall(y, x, true)
            for _ in 0..<complexity {
                var neighbours: [(Int, Int)] = []
                if x > 1 { neighbours.append((y, x - 2)) }
                if x < n - 2 { neighbours.append((y, x + 2)) }
                if y > 1 { neighbours.append((y - 2, x)) }
                if y < n - 2 { neighbours.append((y + 2, x)) }
                guard !neighbours.isEmpty else { continue }
                let (ny, nx) = neighbours[rng.nextInt(below: neighbours.count)]
                if !maze.isWall(ny, nx) {
                    maze.setWall(ny, nx, true)
                    maze.setWall(ny + (y - ny) / 2, nx + (x - nx) / 2, true)
                    (x, y) = (nx, ny)
                }
            }
        }
        for r in max(n - 5, 0) ..< n - 1 { for c in 1 ..< n - 1 { maze.setWall(r, c, false) } }
        for r in max(n - 4, 0) ..< n - 1 {
            maze.setWall(r, n / 2 - 1, true)
            maze.setWall(r, n / 2 + 1, true)
        }
        return maze
    }
}
