using System.Net;

namespace FlatImage.Runtime.Recipes;

/// <summary>
/// Downloads recipe files over HTTP(S). The server is not trusted to behave: a body is capped at
/// <see cref="RecipeParser.MaxBytes"/> (announced or not), a server that sends nothing for
/// <see cref="StallTimeout"/> or takes longer than <see cref="WholeTimeout"/> in all (by default
/// four times the stall timeout) is given up on,
/// redirects are followed by hand (at most <see cref="MaxRedirects"/>, never back to a URL already
/// visited, never from https to http), and every failure is one line naming the URL asked for.
/// One instance serves a whole command; its requests may run concurrently.
/// </summary>
public sealed class RecipeDownloader : IDisposable
{
    public const int MaxRedirects = 5;

    /// <summary>Seconds without a byte before a download is abandoned: <c>FIM_RECIPE_TIMEOUT</c>, default 15.</summary>
    public static TimeSpan DefaultStallTimeout =>
        int.TryParse(Environment.GetEnvironmentVariable("FIM_RECIPE_TIMEOUT"), out int seconds) && seconds is > 0 and <= 3600
            ? TimeSpan.FromSeconds(seconds)
            : TimeSpan.FromSeconds(15);

    private readonly HttpClient _client;

    public RecipeDownloader(TimeSpan stallTimeout, TimeSpan? wholeTimeout = null)
    {
        StallTimeout = stallTimeout;
        WholeTimeout = wholeTimeout ?? stallTimeout * 4;
        _client = new HttpClient(new SocketsHttpHandler
        {
            // Followed by hand, to see loops and downgrades and to name the hop that failed.
            AllowAutoRedirect = false,
            ConnectTimeout = stallTimeout,
            AutomaticDecompression = DecompressionMethods.None,
            MaxResponseHeadersLength = 64,
        })
        {
            // Deadlines are ours (below), per read and per download.
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _client.DefaultRequestHeaders.UserAgent.ParseAdd($"flatimage/{BuildInfo.Version}");
    }

    public TimeSpan StallTimeout { get; }

    /// <summary>The most one download may take, however steadily the server sends.</summary>
    public TimeSpan WholeTimeout { get; }

    public void Dispose() => _client.Dispose();

    /// <exception cref="RecipeException">one line: <c>Could not download '&lt;url&gt;': &lt;why&gt;</c>.</exception>
    public async Task<byte[]> DownloadAsync(Uri url, CancellationToken cancel)
    {
        using var whole = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        whole.CancelAfter(WholeTimeout);
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(whole.Token);
        try
        {
            return await FollowAsync(url, whole.Token, stall).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            string why = whole.IsCancellationRequested
                ? $"timed out after {WholeTimeout.TotalSeconds:0} s"
                : $"timed out (no data for {StallTimeout.TotalSeconds:0} s)";
            throw Failure(url, why);
        }
        catch (HttpRequestException e)
        {
            throw Failure(url, e.Message);
        }
        catch (IOException e)
        {
            throw Failure(url, e.Message);
        }
    }

    private async Task<byte[]> FollowAsync(Uri url, CancellationToken whole, CancellationTokenSource stall)
    {
        var visited = new HashSet<string>(StringComparer.Ordinal) { url.AbsoluteUri };
        var current = url;
        for (int hop = 0; ; hop++)
        {
            stall.CancelAfter(StallTimeout);
            using var request = new HttpRequestMessage(HttpMethod.Get, current);
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stall.Token).ConfigureAwait(false);
            int status = (int)response.StatusCode;
            if (status is 301 or 302 or 303 or 307 or 308)
            {
                if (response.Headers.Location is not { } location)
                    throw Failure(url, $"HTTP {status} without a Location");
                if (!Uri.TryCreate(current, location, out var next))
                    throw Failure(url, $"redirected to an invalid address '{Printable.Of(location.OriginalString)}'");
                if (next.Scheme is not ("http" or "https"))
                    throw Failure(url, $"redirected to '{Printable.Of(next.OriginalString)}', which is not http or https");
                if (current.Scheme == "https" && next.Scheme == "http")
                    throw Failure(url, $"redirected from https to http ('{Printable.Of(next.AbsoluteUri)}')");
                if (!visited.Add(next.AbsoluteUri))
                    throw Failure(url, $"redirect loop at '{Printable.Of(next.AbsoluteUri)}'");
                if (hop + 1 > MaxRedirects)
                    throw Failure(url, $"more than {MaxRedirects} redirects");
                current = next;
                continue;
            }
            if (!response.IsSuccessStatusCode)
                throw Failure(url, $"HTTP {status} {Printable.Of(response.ReasonPhrase ?? "")}".TrimEnd());
            if (response.Content.Headers.ContentLength > RecipeParser.MaxBytes)
                throw Failure(url, $"larger than {RecipeParser.MaxBytes} bytes");
            return await ReadBodyAsync(url, response, stall).ConfigureAwait(false);
        }
    }

    private async Task<byte[]> ReadBodyAsync(Uri url, HttpResponseMessage response, CancellationTokenSource stall)
    {
        using var body = await response.Content.ReadAsStreamAsync(stall.Token).ConfigureAwait(false);
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        while (true)
        {
            stall.CancelAfter(StallTimeout);
            int read = await body.ReadAsync(chunk, stall.Token).ConfigureAwait(false);
            if (read == 0)
                return buffer.ToArray();
            if (buffer.Length + read > RecipeParser.MaxBytes)
                throw Failure(url, $"larger than {RecipeParser.MaxBytes} bytes");
            buffer.Write(chunk, 0, read);
        }
    }

    private static RecipeException Failure(Uri url, string why) =>
        new($"Could not download '{Printable.Of(url.AbsoluteUri)}': {Printable.Of(why)}");
}
