namespace FlatImage.Runtime;

/// <summary>Facts about this launcher build (see <c>fim-version full</c>).</summary>
public static class BuildInfo
{
    public const string Version = BuildInfoConstants.Version;
    public const string Commit = BuildInfoConstants.Commit;
    public const string Timestamp = BuildInfoConstants.Timestamp;

    /// <summary><c>&lt;COMMIT&gt;_&lt;TIMESTAMP&gt;</c>: keys the per-user runtime directory of this build.</summary>
    public const string BuildId = Commit + "_" + Timestamp;
}
