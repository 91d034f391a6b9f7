using FlatImage.Runtime.Sandbox;

namespace FlatImage.Runtime.Tests.Sandbox;

public sealed class UserNamespaceSupportTests : IDisposable
{
    private readonly string _procSys = Directory.CreateTempSubdirectory("fim-procsys-").FullName;

    public void Dispose() => Directory.Delete(_procSys, recursive: true);

    [Fact]
    public void This_machine_allows_user_namespaces()
    {
        Assert.Null(UserNamespaceSupport.Problem());
    }

    [Theory]
    [InlineData("user/max_user_namespaces", "0", "user.max_user_namespaces")]
    [InlineData("kernel/unprivileged_userns_clone", "0", "kernel.unprivileged_userns_clone=1")]
    [InlineData("kernel/apparmor_restrict_unprivileged_userns", "1", "kernel.apparmor_restrict_unprivileged_userns=0")]
    public void Names_the_setting_that_forbids_them(string key, string value, string setting)
    {
        Write("user/max_user_namespaces", "15000");
        Write(key, value + "\n");
        Assert.Contains(setting, UserNamespaceSupport.Problem(_procSys));
    }

    [Fact]
    public void Permissive_settings_are_no_problem()
    {
        Write("user/max_user_namespaces", "15000");
        Write("kernel/unprivileged_userns_clone", "1");
        Write("kernel/apparmor_restrict_unprivileged_userns", "0");
        Assert.Null(UserNamespaceSupport.Problem(_procSys));
    }

    private void Write(string key, string value)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(_procSys, key))!);
        File.WriteAllText(Path.Combine(_procSys, key), value);
    }
}
