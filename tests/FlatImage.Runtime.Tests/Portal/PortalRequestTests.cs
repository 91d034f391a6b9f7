using System.Buffers.Binary;
using FlatImage.Runtime.Portal;
using Xunit;

namespace FlatImage.Runtime.Tests.Portal;

public sealed class PortalRequestTests
{
    [Fact]
    public void Round_trips_through_its_encoding()
    {
        var request = new PortalRequest(["sh", "-c", "echo ä"], ["A=1", "EMPTY="], "/tmp", 5);
        var decoded = PortalRequest.Decode(request.Encode());
        Assert.Equal(request.Arguments, decoded.Arguments);
        Assert.Equal(request.Environment, decoded.Environment);
        Assert.Equal("/tmp", decoded.WorkingDirectory);
        Assert.Equal(5, decoded.StdioMask);
        Assert.Equal(2, decoded.FdCount);
    }

    public static TheoryData<string, byte[]> Malformed()
    {
        byte[] good = new PortalRequest(["true"], ["A=1"], "/", 7).Encode();
        var data = new TheoryData<string, byte[]>
        {
            { "no program", new PortalRequest([], [], "/", 7).Encode() },
            { "empty program", new PortalRequest([""], [], "/", 7).Encode() },
            { "NUL in an argument", new PortalRequest(["a\0b"], [], "/", 7).Encode() },
            { "environment without =", new PortalRequest(["true"], ["NOVALUE"], "/", 7).Encode() },
            { "environment with an empty name", new PortalRequest(["true"], ["=x"], "/", 7).Encode() },
            { "relative directory", new PortalRequest(["true"], [], "tmp", 7).Encode() },
            { "mask beyond stdio", new PortalRequest(["true"], [], "/", 8).Encode() },
            { "truncated", good[..^2] },
            { "trailing bytes", [.. good, 0] },
            { "empty", [] },
        };
        byte[] huge = (byte[])good.Clone();
        // The argument count (after mask, directory length and "/") claims far more than the limit.
        BinaryPrimitives.WriteInt32LittleEndian(huge.AsSpan(1 + 4 + 1), int.MaxValue);
        data.Add("absurd argument count", huge);
        byte[] negative = (byte[])good.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(negative.AsSpan(1), -1);
        data.Add("negative string length", negative);
        return data;
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Refuses_malformed_payloads(string what, byte[] payload)
    {
        Assert.NotNull(what);
        Assert.Throws<PortalProtocolException>(() => PortalRequest.Decode(payload));
    }
}
