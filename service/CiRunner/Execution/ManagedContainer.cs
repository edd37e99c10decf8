using System.Net;
using System.Net.Sockets;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace CiRunner.Execution;

/// <summary>
/// One container CiRunner creates, from its create request to its removal, which happens on every path: the create
/// request is not interrupted by a caller's cancellation (an interrupted create can still make a container whose id
/// never arrives), and every cleanup call is bounded (with <c>WaitAsync</c> too: the client does not give up on an engine
/// that accepted the connection and then hangs). A cleanup that fails is reported, not thrown: the orphan reaper
/// removes what is left at the next start of the instance (the container carries its labels).
/// </summary>
internal sealed class ManagedContainer
{
    private readonly IDockerClient _docker;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _cleanupTimeout;
    private readonly Action<string, string, string>? _cleanupFailed;
    private IReadOnlyDictionary<string, string>? _findAgainLabels;

    /// <param name="docker">The engine.</param>
    /// <param name="timeProvider">Clock for the bounds.</param>
    /// <param name="cleanupTimeout">Bound of the create request and of each cleanup call.</param>
    /// <param name="cleanupFailed">Told the container id (or "(unknown)"), the action and the error of a cleanup that failed; null: nobody is told.</param>
    public ManagedContainer(IDockerClient docker, TimeProvider timeProvider, TimeSpan cleanupTimeout, Action<string, string, string>? cleanupFailed = null)
    {
        _docker = docker;
        _timeProvider = timeProvider;
        _cleanupTimeout = cleanupTimeout;
        _cleanupFailed = cleanupFailed;
    }

    /// <summary>The container's id once the engine returned it.</summary>
    public string? Id { get; private set; }

    /// <summary>A create request went to the engine, so a container may exist even when <see cref="Id"/> is null.</summary>
    public bool CreationSent { get; private set; }

    public bool Started { get; private set; }

    /// <summary>Its main process ends by itself and the engine's auto-remove takes it: <see cref="EndAsync"/> leaves it be.</summary>
    public bool EndsOnItsOwn { get; set; }

    /// <summary>The container is killed (the engine's auto-remove follows) or removed.</summary>
    public bool Ended { get; private set; }

    /// <summary>A container that exists already (a leftover found by its labels), to remove it as any other.</summary>
    public static ManagedContainer Existing(IDockerClient docker, TimeProvider timeProvider, TimeSpan cleanupTimeout, string id) =>
        new(docker, timeProvider, cleanupTimeout) { Id = id, CreationSent = true };

    /// <summary>
    /// Creates the container, bounded by the cleanup timeout but not by any caller's cancellation: the caller checks for
    /// cancellation once the id is known, so the normal cleanup removes the container.
    /// </summary>
    /// <param name="parameters">The create request.</param>
    /// <param name="findAgainLabels">Labels that match this container alone, to find and remove it when the request ends without an id; null when no labels do.</param>
    public async Task<string> CreateAsync(CreateContainerParameters parameters, IReadOnlyDictionary<string, string>? findAgainLabels = null)
    {
        using var timeout = new CancellationTokenSource(_cleanupTimeout, _timeProvider);
        CreationSent = true;
        _findAgainLabels = findAgainLabels;
        Id = (await _docker.Containers.CreateContainerAsync(parameters, timeout.Token)).ID;
        return Id;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        string id = Id ?? throw new InvalidOperationException("the container was not created");
        await _docker.Containers.StartContainerAsync(id, new ContainerStartParameters(), cancellationToken);
        Started = true;
    }

    /// <summary>Kills the container now, so that its stop is prompt; <see cref="EndAsync"/> still follows (and tries again).</summary>
    public async Task KillAsync()
    {
        if (Id is null)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(_cleanupTimeout, _timeProvider);
        try
        {
            await _docker.Containers.KillContainerAsync(Id, new ContainerKillParameters(), timeout.Token).WaitAsync(timeout.Token);
        }
        catch (Exception raw) when (EngineTransport.Unwrap(raw) is var ex && ex is DockerApiException or HttpRequestException or IOException or OperationCanceledException)
        {
            _cleanupFailed?.Invoke(Id, "kill", ex.Message);
        }
    }

    /// <summary>
    /// Ends the container on every path. A started container is killed and the engine removes it (auto-remove);
    /// one that never started (auto-remove acts on exit only) or already stopped is removed here.
    /// </summary>
    public async Task EndAsync()
    {
        using var timeout = new CancellationTokenSource(_cleanupTimeout, _timeProvider);
        if (Id is null)
        {
            if (CreationSent && _findAgainLabels is not null)
            {
                // The create request timed out: the engine may still have made a container whose id never reached
                // us. It carries the labels, so find it by them.
                await RemoveByLabelsAsync(_findAgainLabels, timeout.Token);
            }

            return;
        }

        if (Started && EndsOnItsOwn)
        {
            // The main process exited by itself; the engine's auto-remove takes the container from here.
            Ended = true;
            return;
        }

        await EndCoreAsync(Id, kill: Started, timeout.Token);
    }

    /// <summary>Removes the container now (with force, whatever its state), bounded; for containers the engine does not remove by itself.</summary>
    public async Task RemoveAsync()
    {
        if (Id is null)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(_cleanupTimeout, _timeProvider);
        await EndCoreAsync(Id, kill: false, timeout.Token);
    }

    /// <summary>
    /// Why an infrastructure error may not happen again, or null when it would (or nothing says otherwise). Losing the
    /// engine (no answer, a refused or broken connection) is transient. A container whose output ended early is
    /// looked at: gone, or killed by a signal without running out of memory, means something outside the job ended
    /// it (a daemon restart kills and auto-removes its containers); one that exited by itself or ran out of memory
    /// would do so again. Asked before the cleanup, which would change what the container's state says.
    /// </summary>
    public async Task<string?> TransientCauseAsync(Exception failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        failure = EngineTransport.Unwrap(failure);
        if (failure is HttpRequestException or SocketException or TimeoutException or OperationCanceledException)
        {
            return $"the Docker engine did not answer ({failure.Message})";
        }

        if (failure is not (IOException or JobErrorException { ContainerEnded: true }) || Id is null)
        {
            return null;
        }

        using var timeout = new CancellationTokenSource(_cleanupTimeout, _timeProvider);
        try
        {
            State? state = (await _docker.Containers.InspectContainerAsync(Id, timeout.Token).WaitAsync(timeout.Token)).State;
            if (state is null || state.OOMKilled || state.Running)
            {
                // Still running: the engine is fine and the trouble was on this side (a full disk under the log, say).
                return null;
            }

            return state.ExitCode >= 128
                ? $"container {JobSummaries.Short(Id)} was killed from outside (exit {state.ExitCode}, not out of memory)"
                : null;
        }
        catch (DockerContainerNotFoundException)
        {
            return $"container {JobSummaries.Short(Id)} disappeared from the engine (removed from outside, or the engine restarted)";
        }
        catch (Exception raw) when (EngineTransport.Unwrap(raw) is var ex && ex is HttpRequestException or SocketException or IOException or OperationCanceledException)
        {
            return $"the Docker engine stopped answering ({ex.Message})";
        }
        catch (Exception raw) when (EngineTransport.Unwrap(raw) is var ex && ex is DockerApiException or ObjectDisposedException)
        {
            // No telling what ended it (or the client is closing with this process): the error stands.
            return null;
        }
    }

    private async Task EndCoreAsync(string id, bool kill, CancellationToken cancellationToken)
    {
        try
        {
            if (kill && await TryKillAsync(id, cancellationToken))
            {
                Ended = true;
                return;
            }

            await _docker.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, cancellationToken).WaitAsync(cancellationToken);
            Ended = true;
        }
        catch (DockerContainerNotFoundException)
        {
            Ended = true;
        }
        catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.Conflict)
        {
            // "removal already in progress": the engine's auto-remove got there first.
            Ended = true;
        }
        catch (Exception raw) when (EngineTransport.Unwrap(raw) is var ex && ex is DockerApiException or HttpRequestException or IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            _cleanupFailed?.Invoke(id, "removal", ex.Message);
        }
    }

    /// <summary>True when the kill was delivered (auto-remove follows) or the container is already gone; false when it is stopped but present.</summary>
    private async Task<bool> TryKillAsync(string containerId, CancellationToken cancellationToken)
    {
        try
        {
            await _docker.Containers.KillContainerAsync(containerId, new ContainerKillParameters(), cancellationToken).WaitAsync(cancellationToken);
            return true;
        }
        catch (DockerContainerNotFoundException)
        {
            return true;
        }
        catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.Conflict)
        {
            // Not running: it stopped by itself or was killed on a timeout; removing it is harmless either way.
            return false;
        }
    }

    private async Task RemoveByLabelsAsync(IReadOnlyDictionary<string, string> labels, CancellationToken cancellationToken)
    {
        try
        {
            var parameters = new ContainersListParameters { All = true, Filters = ContainerLabels.Filter(labels.Select(l => $"{l.Key}={l.Value}")) };
            foreach (ContainerListResponse container in await _docker.Containers.ListContainersAsync(parameters, cancellationToken))
            {
                try
                {
                    await _docker.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, cancellationToken);
                }
                catch (DockerContainerNotFoundException)
                {
                    // Gone already.
                }
            }
        }
        catch (Exception raw) when (EngineTransport.Unwrap(raw) is var ex && ex is DockerApiException or HttpRequestException or IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            _cleanupFailed?.Invoke("(unknown)", "removal", ex.Message);
        }
    }
}
