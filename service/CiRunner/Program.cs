using CiRunner.Cli;

return await CliApplication.RunAsync(args);
