using System.Globalization;
using FlatImage.Cli.CommandLine;
using FlatImage.Runtime.Instances;
using FlatImage.Runtime.Paths;
using FlatImage.Runtime.Config;
using FlatImage.Runtime.Portal;
using FlatImage.Runtime.Sandbox;

namespace FlatImage.Cli.Commands;

/// <summary>
/// <c>fim-instance list</c> and <c>fim-instance exec &lt;id&gt; &lt;program&gt; [args...]</c> (docs/cli.md §3.12).
/// exec goes through the instance's guest portal: its <c>fim_portal</c> daemon spawns the command
/// inside the instance — same uid, namespaces and filesystem view — on this process's own
/// stdin, stdout and stderr, and this process exits with the command's status.
/// </summary>
public static class InstanceCommand
{
    public static int Run(CommandContext context, ArgumentCursor args)
    {
        string op = args.NextKeyword() ?? throw new CommandException("Missing op for 'fim-instance' (<exec|list>)");
        switch (op)
        {
            case "list":
                args.End();
                var pids = Instances(context);
                for (int i = 0; i < pids.Count; i++)
                    context.Out.WriteLine($"{i}:{pids[i]}");
                return 0;
            case "exec":
                return Exec(context, args);
            default:
                throw new CommandException("Invalid instance operation");
        }
    }

    private static int Exec(CommandContext context, ArgumentCursor args)
    {
        string id = args.Next() ?? throw new CommandException("Missing 'id' argument for 'fim-instance'");
        if (id.Length == 0 || !id.All(char.IsAsciiDigit))
            throw new CommandException("Id argument must be a digit");
        string[] command = args.Rest();
        if (command.Length == 0)
            throw new CommandException("Missing 'cmd' argument for 'fim-instance'");
        if (!int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out int index))
            throw new CommandException("Invalid instance ID");
        var pids = Instances(context);
        if (pids.Count == 0)
            throw new CommandException("No instances are running");
        if (index >= pids.Count)
            throw new CommandException("Instance index out of bounds");

        var instance = InstancePaths.For(context.RuntimeRoot, "", pids[index]);
        string socket = instance.PortalDaemonSocket;
        if (!WaitForDaemon(instance))
            throw new CommandException($"Instance {index} (pid {pids[index]}) has no portal: its image bundles no fim_portal", critical: false, status: 1);
        context.Out.Flush();
        PortalCallResult result;
        try
        {
            // Host-service variables stay behind, as for runs (docs/cli.md §16d): the instance's program
            // got those its permissions grant, and its daemon hands the same to this command.
            result = PortalClient.Call(socket, command, name => HostServices.MayPass(name, Permissions.None));
        }
        catch (UnsafePortalSocketException e)
        {
            throw new CommandException(e.Message, critical: false);
        }
        if (result.Error is not null)
            throw new CommandException(result.Error, critical: false, status: result.Status);
        return result.Status;
    }

    /// <summary>
    /// An instance is listed as soon as its launcher holds its lock; its fim_portal daemon starts
    /// inside the sandbox a moment later. When this build bundles fim_portal, wait for the socket
    /// (up to 10 s, while the instance lives) instead of failing a command given right after a start.
    /// </summary>
    private static bool WaitForDaemon(InstancePaths instance)
    {
        if (File.Exists(instance.PortalDaemonSocket))
            return true;
        if (!File.Exists(Path.Combine(instance.AppBin, PortalProgram.FileName)))
            return false;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline && Directory.Exists($"/proc/{instance.Pid}"))
        {
            Thread.Sleep(20);
            if (File.Exists(instance.PortalDaemonSocket))
                return true;
        }
        return false;
    }

    private static IReadOnlyList<int> Instances(CommandContext context) =>
        RunningInstances.List(InstancePaths.For(context.RuntimeRoot, "", 0).InstancesRoot);
}
