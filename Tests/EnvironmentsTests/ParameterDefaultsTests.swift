import Environments
import Testing

/// Each environment parameter's default and range are its `ParameterSpec`'s alone: `Parameters`
/// built in Swift and built by the registry agree, and both report the registry's messages.
@Suite struct ParameterDefaultsTests {
    @Test func parametersBuiltInSwift_takeTheRegistryDefaults() throws {
        let room = try #require(try EnvironmentRegistry.make(name: "room_key_door", parameters: [:]) as? RoomKeyDoor)
        #expect(room.parameters == RoomKeyDoor.Parameters())
        let lake = try #require(try EnvironmentRegistry.make(name: "meta_frozen_lake", parameters: [:]) as? MetaFrozenLake)
        #expect(lake.parameters == MetaFrozenLake.Parameters())
        let maze = try #require(try EnvironmentRegistry.make(name: "mazerunner", parameters: [:]) as? MazeRunner)
        #expect(maze.parameters == MazeRunner.Parameters())
        let tmaze = try #require(try EnvironmentRegistry.make(name: "tmaze_passive", parameters: [:]) as? TMaze)
        #expect(tmaze.parameters == TMaze.Parameters())
        let robot = try #require(try EnvironmentRegistry.make(name: "point_robot", parameters: [:]) as? PointRobot)
        #expect(robot.parameters == PointRobot.Parameters())
    }

    /// `max_episode_steps` used to be checked as "a positive integer" in Swift but 1...1000000 by
    /// the registry; now both paths give the registry's answer.
    @Test func parametersBuiltInSwift_areCheckedByTheRegistryRanges() throws {
        let viaRegistry = RoomKeyDoor.Parameters(maxEpisodeSteps: 2_000_000).validationErrors()
        #expect(viaRegistry.map(\.field) == ["max_episode_steps"])
        #expect(viaRegistry.first?.expected == "an integer in 1...1000000, got 2000000")
        #expect(MetaFrozenLake.Parameters(maxEpisodeSteps: 2_000_000).validationErrors().map(\.field) == ["max_episode_steps"])
        #expect(MetaFrozenLake.Parameters(slipChance: 0.995).validationErrors().map(\.field) == ["slip_chance"])
        #expect(TMaze.Parameters(penalty: 0.5).validationErrors().map(\.field) == ["penalty"])
        #expect(throws: EnvironmentError.self) { try MazeRunner(.init(timeLimit: 0)) }
        // Rules between fields stay with the environment.
        #expect(RoomKeyDoor.Parameters(size: 3, keyLocation: GridCell(5, 0)).validationErrors().map(\.field) == ["key_location"])
    }
}
