using Tmds.DBus.Protocol;

namespace FlatImage.Runtime.Desktop;

/// <summary>
/// <c>fim-notify on</c>: "Started '&lt;name&gt;' FlatImage" through the session bus's
/// <c>org.freedesktop.Notifications</c> service (Desktop Notifications Specification, method
/// <c>Notify</c>, signature <c>susssasa{sv}i</c>) — the service notify-send talks to, reached
/// without depending on notify-send being installed.
/// </summary>
public static class DesktopNotifier
{
    public static string Summary(string name) => $"Started '{name}' FlatImage";

    /// <summary>
    /// Sends the notification and returns the id the server assigned. Throws when there is no
    /// session bus, no notification server, or no answer within <paramref name="timeout"/>.
    /// </summary>
    public static async Task<uint> SendAsync(string name, string? iconPath, TimeSpan timeout)
    {
        string address = DBusAddress.Session ?? throw new InvalidOperationException("no session bus address (DBUS_SESSION_BUS_ADDRESS)");
        using var cancel = new CancellationTokenSource(timeout);
        using var connection = new DBusConnection(address);
        await connection.ConnectAsync().AsTask().WaitAsync(cancel.Token).ConfigureAwait(false);
        return await connection.CallMethodAsync(CreateNotify(connection, name, iconPath), static (message, _) => message.GetBodyReader().ReadUInt32())
            .WaitAsync(cancel.Token).ConfigureAwait(false);
    }

    private static MessageBuffer CreateNotify(DBusConnection connection, string name, string? iconPath)
    {
        using var writer = connection.GetMessageWriter();
        writer.WriteMethodCallHeader(
            destination: "org.freedesktop.Notifications",
            path: "/org/freedesktop/Notifications",
            @interface: "org.freedesktop.Notifications",
            signature: "susssasa{sv}i",
            member: "Notify");
        writer.WriteString(name);                 // app_name
        writer.WriteUInt32(0);                    // replaces_id: a new notification
        writer.WriteString(iconPath ?? "");       // app_icon: a file path is allowed
        writer.WriteString(Summary(name));        // summary
        writer.WriteString("");                   // body
        var actions = writer.WriteArrayStart(DBusType.String);
        writer.WriteArrayEnd(actions);
        var hints = writer.WriteDictionaryStart();
        writer.WriteDictionaryEnd(hints);
        writer.WriteInt32(-1);                    // expire_timeout: the server's default
        return writer.CreateMessage();
    }
}
