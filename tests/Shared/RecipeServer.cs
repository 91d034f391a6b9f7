using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FlatImage.Tests.Shared;

/// <summary>
/// A real HTTP/1.1 server on 127.0.0.1 for the recipe tests: it serves files and misbehaves on
/// purpose (stalls, redirect loops, oversized or broken answers). One connection per request
/// (<c>Connection: close</c>); every request path is recorded.
/// </summary>
public sealed class RecipeServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentDictionary<string, Func<Stream, CancellationToken, Task>> _routes = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<string> _requests = new();
    private readonly Task _accepting;
    private int _inFlight;
    private int _mostInFlight;

    public RecipeServer()
    {
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public string BaseUrl => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Paths requested so far, in arrival order.</summary>
    public IReadOnlyList<string> Requests => _requests.ToArray();

    /// <summary>The most requests that were being answered at the same moment.</summary>
    public int MostConcurrentRequests => Volatile.Read(ref _mostInFlight);

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        try
        {
            _accepting.Wait(5_000);
        }
        catch (AggregateException)
        {
        }
    }

    public void Text(string path, string body) => Bytes(path, Encoding.UTF8.GetBytes(body));

    public void Bytes(string path, byte[] body) =>
        _routes[path] = (s, c) => Respond(s, "200 OK", body, c);

    /// <summary>Every file below <paramref name="directory"/> at <paramref name="prefix"/>/relative/path.</summary>
    public void Directory(string prefix, string directory)
    {
        foreach (string file in System.IO.Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
            Bytes($"{prefix}/{Path.GetRelativePath(directory, file)}", File.ReadAllBytes(file));
    }

    public void Redirect(string path, string location) =>
        _routes[path] = (s, c) => Write(s, $"HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", c);

    /// <summary>Answers nothing at all until the server stops.</summary>
    public void Stall(string path) =>
        _routes[path] = async (_, c) => await Task.Delay(Timeout.Infinite, c);

    /// <summary>Answers after <paramref name="delay"/>.</summary>
    public void Delayed(string path, TimeSpan delay, string body) =>
        _routes[path] = async (s, c) =>
        {
            await Task.Delay(delay, c);
            await Respond(s, "200 OK", Encoding.UTF8.GetBytes(body), c);
        };

    /// <summary>Announces a small body and sends it one byte per <paramref name="interval"/>, forever slower than useful.</summary>
    public void Trickle(string path, TimeSpan interval) =>
        _routes[path] = async (s, c) =>
        {
            await Write(s, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n", c);
            while (true)
            {
                await Task.Delay(interval, c);
                await s.WriteAsync(" "u8.ToArray(), c);
                await s.FlushAsync(c);
            }
        };

    /// <summary>A status line that is not HTTP.</summary>
    public void Garbage(string path) =>
        _routes[path] = (s, c) => Write(s, "this is not HTTP\r\n\r\n", c);

    /// <summary>A body of <paramref name="size"/> bytes sent without a Content-Length (read until the connection closes).</summary>
    public void Unannounced(string path, int size) =>
        _routes[path] = async (s, c) =>
        {
            await Write(s, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n", c);
            var chunk = Encoding.ASCII.GetBytes(new string(' ', 64 * 1024));
            for (int sent = 0; sent < size; sent += chunk.Length)
                await s.WriteAsync(chunk, c);
        };

    /// <summary>Announces <paramref name="size"/> bytes in Content-Length (and sends none).</summary>
    public void Announced(string path, long size) =>
        _routes[path] = (s, c) => Write(s, $"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n", c);

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                string? path = await ReadRequestPathAsync(stream, _stop.Token);
                if (path is null)
                    return;
                _requests.Enqueue(path);
                int now = Interlocked.Increment(ref _inFlight);
                for (int most = Volatile.Read(ref _mostInFlight); now > most; most = Volatile.Read(ref _mostInFlight))
                    Interlocked.CompareExchange(ref _mostInFlight, now, most);
                try
                {
                    if (_routes.TryGetValue(path, out var route))
                        await route(stream, _stop.Token);
                    else
                        await Respond(stream, "404 Not Found", Encoding.UTF8.GetBytes("not found\n"), _stop.Token);
                }
                finally
                {
                    Interlocked.Decrement(ref _inFlight);
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }
    }

    private static async Task<string?> ReadRequestPathAsync(Stream stream, CancellationToken cancel)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (head.Count < 16 * 1024)
        {
            if (await stream.ReadAsync(one, cancel) == 0)
                return null;
            head.Add(one[0]);
            int n = head.Count;
            if (n >= 4 && head[n - 4] == '\r' && head[n - 3] == '\n' && head[n - 2] == '\r' && head[n - 1] == '\n')
                break;
        }
        string requestLine = Encoding.ASCII.GetString(head.ToArray()).Split("\r\n")[0];
        string[] parts = requestLine.Split(' ');
        return parts.Length >= 2 ? parts[1] : null;
    }

    private static async Task Respond(Stream stream, string status, byte[] body, CancellationToken cancel)
    {
        await Write(stream, $"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n", cancel);
        await stream.WriteAsync(body, cancel);
    }

    private static async Task Write(Stream stream, string text, CancellationToken cancel) =>
        await stream.WriteAsync(Encoding.ASCII.GetBytes(text), cancel);
}
