using Persistence.TestHost;

// Usage: Persistence.TestHost <command> [arguments...]
// Every command prints what the test needs to check on standard output, one fact a line, and
// exits 0 when it finished its work. Commands register themselves in HostCommands.All.
if (args.Length == 0 || !HostCommands.All.TryGetValue(args[0], out var command))
{
    Console.Error.WriteLine("usage: Persistence.TestHost <command> [args]; commands: " + string.Join(", ", HostCommands.All.Keys.Order()));
    return 2;
}
return command(args[1..]);
