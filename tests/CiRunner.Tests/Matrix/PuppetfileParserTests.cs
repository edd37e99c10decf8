using CiRunner.Configuration;
using CiRunner.Matrix;

namespace CiRunner.Tests.Matrix;

public sealed class PuppetfileParserTests
{
    // Every form puppet-openstack-integration's Puppetfile uses: a header comment, `##` section comments,
    // blank lines, and entries spread over three lines with trailing commas, refs that are branches,
    // v-prefixed tags and bare version tags.
    private const string IntegrationStyle = """
        # Generated module set
        forge 'https://forgeapi.puppet.com'

        ## OpenStack modules
        mod 'keystone',
          :git => 'https://opendev.org/openstack/puppet-keystone',
          :ref => 'master'

        mod 'openstack_extras',
          :git => 'https://opendev.org/openstack/puppet-openstack_extras',
          :ref => 'stable/2025.1'

        ## External modules
        mod 'stdlib',
          :git => 'https://github.com/puppetlabs/puppetlabs-stdlib',
          :ref => 'v9.4.1'

        mod 'rsync',
          :git => 'https://github.com/puppetlabs/puppetlabs-rsync',
          :ref => '1.2.0'
        """;

    [Fact]
    public void Parse_IntegrationStyle_ReadsEveryEntryWithItsLine()
    {
        PuppetfileParseResult result = PuppetfileParser.Parse(IntegrationStyle, "Puppetfile");

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        Assert.Null(result.Puppetfile.ModuleDir);
        Assert.Equal(
            [
                new PuppetfileModule("keystone", "https://opendev.org/openstack/puppet-keystone", PuppetfileRefKind.Ref, "master", 5),
                new PuppetfileModule("openstack_extras", "https://opendev.org/openstack/puppet-openstack_extras", PuppetfileRefKind.Ref, "stable/2025.1", 9),
                new PuppetfileModule("stdlib", "https://github.com/puppetlabs/puppetlabs-stdlib", PuppetfileRefKind.Ref, "v9.4.1", 14),
                new PuppetfileModule("rsync", "https://github.com/puppetlabs/puppetlabs-rsync", PuppetfileRefKind.Ref, "1.2.0", 18),
            ],
            result.Puppetfile.Modules);
    }

    [Theory]
    [InlineData("mod 'keystone', :git => 'https://x/keystone', :ref => 'master'", PuppetfileRefKind.Ref, "master")]
    [InlineData("mod \"keystone\", :git => \"https://x/keystone\", :branch => \"stable/2024.1\"", PuppetfileRefKind.Branch, "stable/2024.1")]
    [InlineData("mod 'keystone', git: 'https://x/keystone', tag: '25.0.0'", PuppetfileRefKind.Tag, "25.0.0")]
    [InlineData("mod 'keystone', :git=>'https://x/keystone', :commit=>'0123abcd0123abcd0123abcd0123abcd0123abcd'", PuppetfileRefKind.Commit, "0123abcd0123abcd0123abcd0123abcd0123abcd")]
    [InlineData("mod 'keystone', :git => 'https://x/keystone'", PuppetfileRefKind.Default, null)]
    [InlineData("mod('keystone',\n    :git => 'https://x/keystone',\n    :ref => 'master'\n)", PuppetfileRefKind.Ref, "master")]
    [InlineData("mod 'keystone', # the identity module\n  :git => 'https://x/keystone', # upstream\n  :ref => 'master' # development\n", PuppetfileRefKind.Ref, "master")]
    [InlineData("mod 'keystone',\n  :git =>\n    'https://x/keystone',\n  ref: 'master'", PuppetfileRefKind.Ref, "master")]
    public void Parse_EachSyntax_ReadsTheRef(string text, PuppetfileRefKind kind, string? reference)
    {
        PuppetfileParseResult result = PuppetfileParser.Parse(text, "Puppetfile");

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        PuppetfileModule module = Assert.Single(result.Puppetfile.Modules);
        Assert.Equal(("keystone", "https://x/keystone", kind, reference, 1), (module.Name, module.Git, module.RefKind, module.Ref, module.Line));
    }

    [Theory]
    [InlineData("puppetlabs-stdlib", "stdlib")]
    [InlineData("puppetlabs/stdlib", "stdlib")]
    [InlineData("stdlib", "stdlib")]
    [InlineData("openstack-openstack_extras", "openstack_extras")]
    [InlineData("Stdlib", null)]
    [InlineData("-stdlib", null)]
    [InlineData("puppetlabs-std-lib", null)]
    public void NormalizeModuleName_AuthorPrefixes_GiveTheShortName(string name, string? expected)
    {
        Assert.Equal(expected, PuppetfileParser.NormalizeModuleName(name));
    }

    [Fact]
    public void Parse_ModuledirAndEscapes_AreRead()
    {
        const string Text = "moduledir 'modules'\nmod 'keystone', :git => 'https://x/it\\'s', :ref => \"a\\\"b\"\n";

        PuppetfileParseResult result = PuppetfileParser.Parse(Text, "Puppetfile");

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        Assert.Equal("modules", result.Puppetfile.ModuleDir);
        Assert.Equal("https://x/it's", result.Puppetfile.Modules[0].Git);
    }

    [Fact]
    public void Parse_EmptyFile_IsAnEmptyModuleSet()
    {
        PuppetfileParseResult result = PuppetfileParser.Parse("# nothing yet\n", "Puppetfile");

        Assert.True(result.Succeeded);
        Assert.Empty(result.Puppetfile.Modules);
    }

    [Fact]
    public void Parse_SeveralMistakes_ReportsEachWithItsLineInOrder()
    {
        const string Text = """
            mod 'puppetlabs-stdlib', '9.0.0'
            mod 'keystone',
              :git => 'https://x/keystone',
              :reff => 'master'
            mod 'nova', :git => 'https://x/nova', :ref => 'master
            mod 'glance', :git => 'https://x/glance', :ref => 'master'
            mod 'glance', :git => 'https://x/glance', :ref => 'master'
            """;

        PuppetfileParseResult result = PuppetfileParser.Parse(Text, "/etc/ci/zed.Puppetfile");

        Assert.False(result.Succeeded);
        Assert.Equal(["line 1", "line 4", "line 5", "line 7"], result.Errors.Select(e => e.Location));
        Assert.All(result.Errors, e => Assert.Equal("/etc/ci/zed.Puppetfile", e.File));
        Assert.Contains("offline and repeatable", result.Errors[0].Expected, StringComparison.Ordinal);
        Assert.Contains("line 6", result.Errors[3].Expected, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ForgeOnlyModule_SaysToAddGitAndRef()
    {
        PuppetfileParseResult result = PuppetfileParser.Parse("\nmod 'puppetlabs-stdlib', '9.0.0'\n", "zed.Puppetfile");

        ConfigurationError error = Assert.Single(result.Errors);
        Assert.Equal("zed.Puppetfile: line 2: 'mod 'puppetlabs-stdlib', '9.0.0'' is not valid; expected a :git URL and a :ref: this is a Forge module, and runs must be offline and repeatable, so add :git => 'url' and :ref => 'tag or branch'", error.ToString());
    }

    [Theory]
    [InlineData("mod 'keystone', :git => \"https://x/#{name}\"", "interpolation")]
    [InlineData("mod 'keystone', :latest", "Forge module")]
    [InlineData("mod 'keystone', :git => 'https://x/k', :ref => 'master', :ref => 'v1'", "each key once")]
    [InlineData("mod 'keystone', :git => 'https://x/k', :ref => 'bad ref'", "branch or tag")]
    [InlineData("mod 'keystone', :git => 'https://x/k', :ref => 'master' 'extra'", "end of the line")]
    [InlineData("mod 'keystone', :git => 'https://x/k',\n", "key such as")]
    [InlineData("mod keystone", "quoted module name")]
    [InlineData("moduledir 'a'\nmoduledir 'b'", "single moduledir")]
    [InlineData("mod 'keystone', '1.0.0', :git => 'https://x/k', :ref => 'master'", "no Forge version")]
    public void Parse_Mistake_IsReported(string text, string expected)
    {
        PuppetfileParseResult result = PuppetfileParser.Parse(text, "Puppetfile");

        Assert.False(result.Succeeded);
        Assert.Contains(result.Errors, e => e.Expected.Contains(expected, StringComparison.Ordinal));
    }
}
