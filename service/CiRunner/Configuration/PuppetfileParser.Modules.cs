using CiRunner.Matrix;

namespace CiRunner.Configuration;

// Result building: a parsed mod becomes a PuppetfileModule once its URL, version keys and name check out.
public static partial class PuppetfileParser
{
    private sealed partial class Parser
    {
        private bool FinishMod(Token keyword, Token nameToken, string? name, Dictionary<string, (string Value, int Line)> options, string? forgeVersion)
        {
            if (!options.TryGetValue("git", out (string Value, int Line) git))
            {
                string described = forgeVersion is null ? $"mod '{nameToken.Text}'" : $"mod '{nameToken.Text}', {Quote(forgeVersion)}";
                return Fail(keyword, described, "a :git URL and a :ref: this is a Forge module, and runs must be offline and repeatable, so add :git => 'url' and :ref => 'tag or branch'");
            }

            if (forgeVersion is not null)
            {
                Fail(keyword, forgeVersion, $"no Forge version beside :git for '{nameToken.Text}'; pin the version with :ref");
            }

            if (git.Value.Length == 0 || git.Value.Any(char.IsWhiteSpace))
            {
                Fail(new Token(TokenKind.String, git.Value, git.Line), git.Value, "a git URL without spaces");
            }
            else if (UrlCredentials.HasPassword(git.Value))
            {
                Fail(new Token(TokenKind.String, git.Value, git.Line), UrlCredentials.Redact(git.Value), "a git URL without a password; give credentials through environment variables (Modules:N:Credentials)");
            }

            string[] versionKeys = _versionKeys.Where(options.ContainsKey).ToArray();
            if (versionKeys.Length > 1)
            {
                Fail(keyword, string.Join(", ", versionKeys.Select(k => ":" + k)), "only one of :ref, :branch, :tag or :commit");
            }

            PuppetfileRefKind kind = PuppetfileRefKind.Default;
            string? reference = null;
            if (versionKeys.Length == 1)
            {
                (reference, int line) = options[versionKeys[0]];
                kind = versionKeys[0] switch
                {
                    "branch" => PuppetfileRefKind.Branch,
                    "tag" => PuppetfileRefKind.Tag,
                    "commit" => PuppetfileRefKind.Commit,
                    _ => PuppetfileRefKind.Ref,
                };

                bool valid = kind == PuppetfileRefKind.Commit ? CommitId().IsMatch(reference) : GitRefName.IsValid(reference);
                if (!valid)
                {
                    Fail(new Token(TokenKind.String, reference, line), reference,
                        kind == PuppetfileRefKind.Commit ? "a commit id of 7 to 40 lower-case hex digits" : "a git branch or tag name");
                }
            }

            if (name is null)
            {
                return false;
            }

            if (_firstLine.TryGetValue(name, out int firstLine))
            {
                return Fail(nameToken, nameToken.Text, $"each module once per Puppetfile ('{name}' is already declared at line {firstLine})");
            }

            _firstLine.Add(name, keyword.Line);
            _modules.Add(new PuppetfileModule(name, git.Value, kind, reference, keyword.Line));
            return true;
        }
    }
}
