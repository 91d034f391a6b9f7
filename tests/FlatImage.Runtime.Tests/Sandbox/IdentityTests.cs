using FlatImage.Runtime.Sandbox;

namespace FlatImage.Runtime.Tests.Sandbox;

public sealed class IdentityTests
{
    private static readonly HostIdentity Host = new(1000, 1001, "alice", "/home/alice");

    [Fact]
    public void Exec_runs_as_the_caller()
    {
        var id = Identity.Resolve(false, new Dictionary<string, string>(), Host, "/bin/sh");
        Assert.Equal(new Identity(1000, 1001, "alice", "/home/alice", "/bin/sh"), id);
        Assert.Equal("alice:x:1000:1001:alice:/home/alice:/bin/sh", id.PasswdLine());
    }

    [Fact]
    public void Root_runs_are_root_whatever_fim_env_says_about_the_user()
    {
        var env = new Dictionary<string, string> { ["USER"] = "bob", ["HOME"] = "/srv/bob", ["SHELL"] = "/bin/zsh" };
        Assert.Equal(new Identity(0, 0, "root", "/root", "/bin/zsh"), Identity.Resolve(true, env, Host, "/bin/sh"));
        Assert.True(Identity.Resolve(false, new Dictionary<string, string> { ["UID"] = "0" }, Host, "/bin/sh").IsRoot);
    }

    [Fact]
    public void Fim_env_overrides_the_host_identity()
    {
        var env = new Dictionary<string, string> { ["UID"] = "2000", ["GID"] = "x", ["USER"] = "app", ["HOME"] = "/home/app" };
        Assert.Equal(new Identity(2000, 1001, "app", "/home/app", "/bin/sh"), Identity.Resolve(false, env, Host, "/bin/sh"));
    }
}
