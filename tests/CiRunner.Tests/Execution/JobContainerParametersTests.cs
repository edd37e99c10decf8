using CiRunner.Execution;
using CiRunner.Matrix;
using Docker.DotNet.Models;

namespace CiRunner.Tests.Execution;

/// <summary>The create request of a job's container, as the engine receives it.</summary>
public sealed class JobContainerParametersTests
{
    private static readonly JobSpec Job = new(
        RunId: 7,
        JobId: 42,
        InstanceId: "inst-1",
        Image: "cirunner/release:zed",
        Release: "zed",
        Phases: [new JobPhase("deploy", [], [], null, [new StepDefinition(StepKind.Command, "true", ["true"], TimeSpan.FromMinutes(1))])],
        JobTimeout: TimeSpan.FromMinutes(5),
        LogFilePath: "/nowhere/42.log",
        Limits: new ContainerLimits(MemoryBytes: 512L * 1024 * 1024, Cpus: 1.5, PidsLimit: 256, NetworkMode: "none"));

    [Fact]
    public void Build_PlainJob_RunsTheScriptAsPid1WithTheJobsLabelsAndLimits()
    {
        CreateContainerParameters parameters = JobContainerParameters.Build(Job, "echo hi", cgroupVersion: null, snapshot: null);

        Assert.Equal("cirunner/release:zed", parameters.Image);
        Assert.Equal(["/bin/sh", "-c", "echo hi", "cirunner-steps"], parameters.Entrypoint);
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["cirunner.managed"] = "true",
                ["cirunner.instance"] = "inst-1",
                ["cirunner.run"] = "7",
                ["cirunner.job"] = "42",
            },
            parameters.Labels);
        Assert.Equal("SIGKILL", parameters.StopSignal);
        Assert.True(parameters.OpenStdin);
        Assert.True(parameters.AttachStdin);
        HostConfig host = Host(parameters);
        Assert.Equal("none", host.NetworkMode);
        Assert.Equal(512L * 1024 * 1024, host.Memory);
        Assert.Equal(host.Memory, host.MemorySwap);
        Assert.Equal(1_500_000_000, host.NanoCPUs);
        Assert.Equal(256, host.PidsLimit);
        Assert.False(host.Privileged);
        Assert.Equal(["no-new-privileges"], host.SecurityOpt);
        Assert.Equal(["NET_RAW", "MKNOD"], host.CapDrop);
        Assert.True(host.AutoRemove);
        Assert.False(host.Init);
        Assert.Null(host.Mounts);
        Assert.Null(host.Tmpfs);
    }

    [Fact]
    public void Build_NewPrivilegesAllowedAndNoCapabilitiesDropped_SetsNeither()
    {
        JobSpec job = Job with { Limits = Job.Limits with { NoNewPrivileges = false, DropCapabilities = [] } };

        HostConfig host = Host(JobContainerParameters.Build(job, "true", null, null));

        Assert.Empty(host.SecurityOpt);
        Assert.Empty(host.CapDrop);
    }

    [Fact]
    public void Build_SystemdOnCgroupV2_BootsInitInAPrivateCgroupNamespaceWithNothingAttached()
    {
        JobSpec job = Job with { Init = InitSystem.Systemd };

        CreateContainerParameters parameters = JobContainerParameters.Build(job, "echo hi", cgroupVersion: "2", snapshot: null);

        Assert.Equal([SystemdContainer.InitPath], parameters.Entrypoint);
        Assert.Contains("container=docker", parameters.Env);
        Assert.False(parameters.OpenStdin);
        Assert.False(parameters.AttachStdin);
        Assert.False(parameters.AttachStdout);
        Assert.False(parameters.AttachStderr);
        HostConfig host = Host(parameters);
        Assert.Equal("private", host.CgroupnsMode);
        Assert.NotNull(host.Tmpfs);
        Assert.Equal(["/run", "/run/lock"], host.Tmpfs.Keys.Order(StringComparer.Ordinal));
        Assert.Null(host.Binds);

        // The job's labels and limits still hold
        Assert.Equal("42", parameters.Labels["cirunner.job"]);
        Assert.Equal("none", host.NetworkMode);
    }

    [Fact]
    public void Build_SystemdWithUnknownCgroupVersion_MountsTheHostsCgroupTreeReadOnly()
    {
        JobSpec job = Job with { Init = InitSystem.Systemd };

        HostConfig host = Host(JobContainerParameters.Build(job, "true", cgroupVersion: null, snapshot: null));

        Assert.Equal(["/sys/fs/cgroup:/sys/fs/cgroup:ro"], host.Binds);
        Assert.Empty(host.CgroupnsMode ?? "");
    }

    [Fact]
    public void Build_PackageSnapshot_MountsItsVolumeReadOnly()
    {
        var snapshot = new PackageSnapshotInfo("2024.2", "cirunner-snapshot-2024.2-abc", "sha256:abc", "sha256:def", 1234);

        IList<Mount>? mounts = Host(JobContainerParameters.Build(Job, "true", null, snapshot)).Mounts;

        Assert.NotNull(mounts);
        Mount mount = Assert.Single(mounts);

        Assert.Equal("volume", mount.Type);
        Assert.Equal("cirunner-snapshot-2024.2-abc", mount.Source);
        Assert.Equal(PackageSnapshotSource.MountPath, mount.Target);
        Assert.True(mount.ReadOnly);
    }

    [Fact]
    public void FindAgainLabels_AreTheInstanceAndTheJob()
    {
        Assert.Equal(
            new Dictionary<string, string> { ["cirunner.instance"] = "inst-1", ["cirunner.job"] = "42" },
            JobContainerParameters.FindAgainLabels(Job));
    }

    private static HostConfig Host(CreateContainerParameters parameters)
    {
        Assert.NotNull(parameters.HostConfig);
        return parameters.HostConfig;
    }
}
