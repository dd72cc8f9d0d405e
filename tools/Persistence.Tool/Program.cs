using Persistence.Tool;

return ToolApp.Run(args, Console.Out, Console.Error, color: !Console.IsOutputRedirected);
