<#
.SYNOPSIS
  Installs CiRunner as a Windows service, with recovery actions.
.DESCRIPTION
  Publishes (or takes) cirunner.exe, registers "CiRunner" to run `cirunner serve --config <file>` at
  boot, and tells the service manager to restart it after a failure (10 s, 30 s, then every 60 s).
  Secrets (CIRUNNER_API_TOKEN, git and Gerrit credentials) are set as machine environment variables
  readable by administrators and the service account, never in appsettings.json.
  Jobs need a Docker engine reachable from Windows (Docker:Endpoint: npipe://./pipe/docker_engine, or a
  remote tcp:// engine running Linux containers).
.EXAMPLE
  .\deploy\windows\install-service.ps1 -InstallDir C:\cirunner -Config C:\cirunner\appsettings.json
#>
[CmdletBinding()]
param(
    [string] $InstallDir = "$env:ProgramFiles\CiRunner",
    [string] $Config = "$env:ProgramData\CiRunner\appsettings.json",
    [string] $ServiceName = "CiRunner",
    [string] $ApiToken = ""
)
$ErrorActionPreference = "Stop"
$repo = Resolve-Path (Join-Path $PSScriptRoot "..\..")

if (-not (Test-Path (Join-Path $InstallDir "cirunner.exe"))) {
    dotnet publish (Join-Path $repo "service\CiRunner") -c Release -r win-x64 --self-contained false -o $InstallDir
}
if (-not (Test-Path $Config)) {
    New-Item -ItemType Directory -Force -Path (Split-Path $Config) | Out-Null
    Copy-Item (Join-Path $repo "appsettings.json") $Config
    Copy-Item -Recurse (Join-Path $repo "scenarios") (Join-Path (Split-Path $Config) "scenarios")
    Write-Host "Wrote $Config; edit it, then check it with: cirunner validate --config `"$Config`""
}

& (Join-Path $InstallDir "cirunner.exe") validate --config $Config
if ($LASTEXITCODE -ne 0) { throw "The configuration is not valid; the service was not installed." }

if ($ApiToken) {
    [Environment]::SetEnvironmentVariable("CIRUNNER_API_TOKEN", $ApiToken, "Machine")
}

if (Get-Service -Name $ServiceName -ErrorAction SilentlyContinue) {
    Stop-Service -Name $ServiceName -ErrorAction SilentlyContinue
    sc.exe delete $ServiceName | Out-Null
    Start-Sleep -Seconds 2
}
$binary = "`"$(Join-Path $InstallDir 'cirunner.exe')`" serve --config `"$Config`""
New-Service -Name $ServiceName -BinaryPathName $binary -DisplayName "CiRunner" `
    -Description "Continuous integration tests of puppet-openstack modules in containers" -StartupType Automatic | Out-Null

# Recovery: restart after 10 s, 30 s, then 60 s; the failure count resets after a day.
sc.exe failure $ServiceName reset= 86400 actions= restart/10000/restart/30000/restart/60000 | Out-Null
# Treat a non-zero exit (for example a configuration error at start) as a failure too.
sc.exe failureflag $ServiceName 1 | Out-Null

Start-Service -Name $ServiceName
Get-Service -Name $ServiceName
