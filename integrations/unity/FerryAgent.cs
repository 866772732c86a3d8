// Ferry agent client for Unity (C#): the loopback HTTP transport of `ferry agent` (docs/AGENT.md,
// protocol 1), nothing more. UNTESTED: no Unity (or .NET SDK) runs in Ferry's CI (docs/engines/unity.md).
//
// Uses System.Net.Http.HttpClient (available with IL2CPP on desktop and mobile) and UnityEngine.JsonUtility
// for the few typed answers below; every method also exists as CallAsync(method, paramsJson) returning the
// raw {"result": ...} body for anything JsonUtility cannot map (use your JSON library of choice on it).
using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using UnityEngine;

namespace Ferry
{
    /// <summary>An error the agent answered (or E_NETWORK / E_PROTOCOL when it could not be read).</summary>
    public sealed class FerryAgentException : Exception
    {
        public string Code { get; }
        public int Status { get; }

        public FerryAgentException(string code, string message, int status) : base(message)
        {
            Code = code;
            Status = status;
        }
    }

    [Serializable] public sealed class CheckAnswer { public bool updateAvailable; public string installedVersion; public string version; public long downloadBytes; public bool mandatory; public bool stale; }
    [Serializable] public sealed class Mount { public string name; public string uri; public int priority; }
    [Serializable] public sealed class MissingFile { public string path; public string package; public long size; }
    [Serializable] public sealed class MissingResult { public string version; public MissingFile[] files; public long bytes; }
    [Serializable] public sealed class FerryEvent { public string type; public string state; public string phase; public long bytesDone; public long bytesTotal; public double etaSeconds; }
    [Serializable] public sealed class EventItem { public long seq; public FerryEvent @event; }

    [Serializable] internal sealed class ErrorBody { public string code; public string message; }
    [Serializable] internal sealed class ErrorEnvelope { public ErrorBody error; }
    [Serializable] internal sealed class CheckEnvelope { public CheckAnswer result; }
    [Serializable] internal sealed class MountsEnvelope { public Mount[] result; }
    [Serializable] internal sealed class MissingEnvelope { public MissingResult result; }
    [Serializable] internal sealed class EventsEnvelope { public EventItem[] events; public long next; public bool dropped; }

    public sealed class FerryAgent : IDisposable
    {
        public const int Protocol = 1;
        private readonly HttpClient _http;
        private readonly Uri _base;
        private long _nextSeq;

        /// <param name="url">The url `ferry agent --listen 127.0.0.1:0` printed.</param>
        /// <param name="token">The token it printed.</param>
        public FerryAgent(string url, string token)
        {
            _base = new Uri(url.EndsWith("/") ? url : url + "/");
            _http = new HttpClient { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
            _http.DefaultRequestHeaders.Add("Authorization", "Bearer " + token);
        }

        /// <summary>The agent's address from the environment a Ferry launch sets (FERRY_AGENT_URL / FERRY_AGENT_TOKEN).</summary>
        public static FerryAgent FromEnvironment() =>
            new FerryAgent(Environment.GetEnvironmentVariable("FERRY_AGENT_URL") ?? "", Environment.GetEnvironmentVariable("FERRY_AGENT_TOKEN") ?? "");

        /// <summary>POST /v1/call; returns the body ({"result": ...}); throws FerryAgentException otherwise.</summary>
        public async Task<string> CallAsync(string method, string paramsJson = null, CancellationToken cancel = default)
        {
            var body = paramsJson == null
                ? "{\"method\":" + Quote(method) + "}"
                : "{\"method\":" + Quote(method) + ",\"params\":" + paramsJson + "}";
            var content = new StringContent(body, Encoding.UTF8, "application/json");
            return await Send(() => _http.PostAsync(new Uri(_base, "v1/call"), content, cancel), method);
        }

        private async Task<string> Send(Func<Task<HttpResponseMessage>> send, string what)
        {
            HttpResponseMessage response;
            try { response = await send(); }
            catch (HttpRequestException e)
            {
                throw new FerryAgentException("E_NETWORK", $"The Ferry agent at {_base} did not answer {what}: {e.Message}. Is `ferry agent --listen` running?", 0);
            }
            var text = await response.Content.ReadAsStringAsync();
            var status = (int)response.StatusCode;
            if (status == 200) return text;
            ErrorEnvelope envelope = null;
            try { envelope = JsonUtility.FromJson<ErrorEnvelope>(text); } catch (ArgumentException) { }
            if (envelope?.error?.code == null)
                throw new FerryAgentException("E_PROTOCOL", $"The Ferry agent answered {what} with HTTP {status} and no error object.", status);
            throw new FerryAgentException(envelope.error.code, envelope.error.message, status);
        }

        public static string Quote(string s)
        {
            var b = new StringBuilder("\"");
            foreach (var c in s)
            {
                if (c == '"' || c == '\\') b.Append('\\').Append(c);
                else if (c < 0x20) b.Append("\\u").Append(((int)c).ToString("x4"));
                else b.Append(c);
            }
            return b.Append('"').ToString();
        }

        private static string QuoteAll(IEnumerable<string> items)
        {
            var parts = new List<string>();
            foreach (var i in items) parts.Add(Quote(i));
            return "[" + string.Join(",", parts) + "]";
        }

        public async Task<CheckAnswer> CheckAsync(CancellationToken cancel = default) =>
            JsonUtility.FromJson<CheckEnvelope>(await CallAsync("check", null, cancel)).result;

        /// <summary>Runs the update; returns the raw UpdateSummary body.</summary>
        public Task<string> UpdateAsync(CancellationToken cancel = default) => CallAsync("update", null, cancel);

        public Task<string> CancelAsync() => CallAsync("cancel");

        public Task<string> StatusAsync() => CallAsync("status");

        public async Task<MissingResult> MissingAsync(params string[] packages) =>
            JsonUtility.FromJson<MissingEnvelope>(await CallAsync("missing", "{\"packages\":" + QuoteAll(packages) + "}")).result;

        /// <summary>Downloads what the packages lack (verified, resumable, delta-updated); raw ReselectResult body.</summary>
        public Task<string> EnsureAsync(params string[] packages) =>
            CallAsync("ensure", "{\"packages\":" + QuoteAll(packages) + "}");

        public async Task<Mount[]> GetMountsAsync() =>
            JsonUtility.FromJson<MountsEnvelope>(await CallAsync("mounts.list")).result;

        public Task<string> AddMountAsync(string name, string uri, int priority) =>
            CallAsync("mounts.add", "{\"name\":" + Quote(name) + ",\"uri\":" + Quote(uri) + ",\"priority\":" + priority + "}");

        public Task<string> RemoveMountAsync(string name) => CallAsync("mounts.remove", "{\"name\":" + Quote(name) + "}");

        public Task<string> ResolveAsync(string path) => CallAsync("mounts.resolve", "{\"path\":" + Quote(path) + "}");

        /// <summary>One long-poll of GET /v1/events for events newer than the last seen.</summary>
        public async Task<EventItem[]> PollEventsAsync(int timeoutMs = 25000, CancellationToken cancel = default)
        {
            var url = new Uri(_base, $"v1/events?after={_nextSeq}&timeout={timeoutMs}");
            var text = await Send(() => _http.GetAsync(url, cancel), "events");
            var envelope = JsonUtility.FromJson<EventsEnvelope>(text);
            _nextSeq = envelope.next;
            return envelope.events ?? Array.Empty<EventItem>();
        }

        public void Dispose() => _http.Dispose();
    }
}
