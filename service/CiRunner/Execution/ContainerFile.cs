using System.Formats.Tar;
using System.Net;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace CiRunner.Execution;

/// <summary>Reads a file out of a container through the engine's archive API (a remote engine works too).</summary>
internal static class ContainerFile
{
    /// <summary>
    /// The text of <paramref name="path"/> in the container, or why it could not be read: the file is missing, too large,
    /// or the engine failed. The container must still exist (a stopped one will do).
    /// </summary>
    public static async Task<(string? Text, string? Problem)> ReadTextAsync(IDockerClient docker, string containerId, string path, long maxBytes, CancellationToken cancellationToken)
    {
        try
        {
            var parameters = new ContainerPathStatParameters { Path = path };
            ContainerArchiveResponse archive = await docker.Containers.GetArchiveFromContainerAsync(containerId, parameters, false, cancellationToken);
            if (archive.Stream is null)
            {
                return (null, $"the engine returned no archive for {path}");
            }

            if (archive.Stat?.Size > maxBytes)
            {
                await archive.Stream.DisposeAsync();
                return (null, $"{path} has {archive.Stat.Size} bytes, more than the {maxBytes} read");
            }

            // TarReader stops short on the engine's response stream read in place: buffer it (the size is bounded above).
            using var tar = new MemoryStream();
            await using (Stream response = archive.Stream)
            {
                await response.CopyToAsync(tar, cancellationToken);
            }

            tar.Position = 0;
            await using var reader = new TarReader(tar);
            TarEntry? entry = await reader.GetNextEntryAsync(copyData: false, cancellationToken);
            if (entry?.DataStream is null)
            {
                return (null, $"{path} is not a regular file");
            }

            using var text = new StreamReader(entry.DataStream);
            return (await text.ReadToEndAsync(cancellationToken), null);
        }
        catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            // The engine answers 404 for a missing path (Docker.DotNet calls it a missing container).
            return (null, $"{path} does not exist ({ex.ResponseBody?.Trim()})");
        }
        catch (Exception ex) when (ex is DockerApiException or InvalidDataException or IOException)
        {
            return (null, $"{path} could not be read: {ex.Message}");
        }
    }
}
