// Example (UNTESTED, no Unity here): check and update at start with a progress log, and fetch a level's
// optional package before loading its scene. Start the agent beside the game:
//   ferry agent <repo-url> <install-dir> --trust root.pub --listen 127.0.0.1:0
// and hand its url and token to the game (FERRY_AGENT_URL / FERRY_AGENT_TOKEN, or your launcher's way).
using System.Threading;
using System.Threading.Tasks;
using UnityEngine;
using UnityEngine.SceneManagement;

namespace Ferry
{
    public sealed class FerryExample : MonoBehaviour
    {
        private FerryAgent _agent;
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();

        private async void Start()
        {
            _agent = FerryAgent.FromEnvironment();
            _ = LogProgress();
            try
            {
                var answer = await _agent.CheckAsync();
                if (answer.updateAvailable) await _agent.UpdateAsync();
            }
            catch (FerryAgentException e)
            {
                Debug.LogWarning($"Ferry: {e.Code} {e.Message}");
            }
        }

        public async Task LoadLevel(string package, string scene)
        {
            var lack = await _agent.MissingAsync(package);
            if (lack.files.Length > 0) await _agent.EnsureAsync(package);
            SceneManager.LoadScene(scene);
        }

        private async Task LogProgress()
        {
            while (!_stop.IsCancellationRequested)
            {
                foreach (var item in await _agent.PollEventsAsync(25000, _stop.Token))
                    if (item.@event.type == "progress" && item.@event.bytesTotal > 0)
                        Debug.Log($"Ferry: {100 * item.@event.bytesDone / item.@event.bytesTotal}%");
            }
        }

        private void OnDestroy()
        {
            _stop.Cancel();
            _agent?.Dispose();
        }
    }
}
