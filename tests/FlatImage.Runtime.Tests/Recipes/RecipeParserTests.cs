using System.Text;
using FlatImage.Runtime.Recipes;

namespace FlatImage.Runtime.Tests.Recipes;

public sealed class RecipeParserTests
{
    private static Recipe Parse(string json) => RecipeParser.Parse("r", Encoding.UTF8.GetBytes(json));

    private static string Failure(string json) => Assert.Throws<RecipeException>(() => Parse(json)).Message;

    [Fact]
    public void Reads_every_field_and_ignores_unknown_ones()
    {
        var recipe = Parse("""
            {"description": "d", "packages": ["libx11-6", "python3:amd64", "hello=2.10-3"], "dependencies": ["xkb"],
             "homepage": "https://example.org", "desktop": {"name": "App", "icon": "icons/app.svg", "categories": ["Utility"], "integrations": ["ENTRY", "icon"]}}
            """);
        Assert.Equal("d", recipe.Description);
        Assert.Equal(["libx11-6", "python3:amd64", "hello=2.10-3"], recipe.Packages.ToArray());
        Assert.Equal(["xkb"], recipe.Dependencies.ToArray());
        Assert.NotNull(recipe.Desktop);
        Assert.Equal("App", recipe.Desktop!.Name);
        Assert.Equal(["entry", "icon"], recipe.Desktop.Integrations.ToArray());
        Assert.Equal(new Uri("http://r.example/x/debian/latest/icons/app.svg"), recipe.Desktop.IconUrl(new Uri("http://r.example/x/debian/latest/")));
        Assert.Contains("\"categories\"", recipe.Desktop.Json);
    }

    [Theory]
    [InlineData("", "Empty json file")]
    [InlineData(" \n\t ", "Empty json file")]
    [InlineData("{\"description\": \"d\", ", "Could not parse json file")]
    [InlineData("[1, 2]", "Could not parse json file")]
    [InlineData("{\"description\": \"d\", \"description\": \"e\", \"packages\": []}", "Could not parse json file")]
    [InlineData("{\"packages\": []}", "Missing 'description' field")]
    [InlineData("{\"description\": \"d\"}", "Missing 'packages' field")]
    [InlineData("{\"description\": 3, \"packages\": []}", "Field 'description' of recipe 'r' is not a string")]
    [InlineData("{\"description\": \"d\", \"packages\": \"curl\"}", "Field 'packages' of recipe 'r' is not an array of strings")]
    [InlineData("{\"description\": \"d\", \"packages\": [1]}", "Field 'packages' of recipe 'r' is not an array of strings")]
    [InlineData("{\"description\": \"d\", \"packages\": [], \"dependencies\": {}}", "Field 'dependencies' of recipe 'r' is not an array of strings")]
    [InlineData("{\"description\": \"d\", \"packages\": [\"-oAPT::Update::Pre-Invoke::=touch /x\"]}", "Invalid package name '-oAPT::Update::Pre-Invoke::=touch /x' in recipe 'r'")]
    [InlineData("{\"description\": \"d\", \"packages\": [\"a b\"]}", "Invalid package name 'a b' in recipe 'r'")]
    [InlineData("{\"description\": \"d\", \"packages\": [], \"dependencies\": [\"../etc/passwd\"]}", "Invalid dependency name '../etc/passwd' in recipe 'r'")]
    [InlineData("{\"description\": \"d\", \"packages\": [], \"dependencies\": [\"a/b\"]}", "Invalid dependency name 'a/b' in recipe 'r'")]
    [InlineData("{\"description\": \"d\", \"packages\": [], \"desktop\": []}", "Field 'desktop' of recipe 'r' is not an object")]
    [InlineData("{\"description\": \"d\", \"packages\": [], \"desktop\": {\"icon\": \"a.png\", \"categories\": []}}", "Failed to deserialize json")]
    [InlineData("{\"description\": \"d\", \"packages\": [], \"desktop\": {\"name\": \"a/b\", \"icon\": \"a.png\", \"categories\": []}}", "Application name cannot contain the '/' character")]
    [InlineData("{\"description\": \"d\", \"packages\": [], \"desktop\": {\"name\": \"a\", \"categories\": []}}", "Could not retrieve icon path field from json")]
    [InlineData("{\"description\": \"d\", \"packages\": [], \"desktop\": {\"name\": \"a\", \"icon\": \"/etc/shadow.png\", \"categories\": []}}", "Icon '/etc/shadow.png' of recipe 'r' is neither a web address nor a path inside the repository")]
    [InlineData("{\"description\": \"d\", \"packages\": [], \"desktop\": {\"name\": \"a\", \"icon\": \"../../x.png\", \"categories\": []}}", "Icon '../../x.png' of recipe 'r' is neither a web address nor a path inside the repository")]
    [InlineData("{\"description\": \"d\", \"packages\": [], \"desktop\": {\"name\": \"a\", \"icon\": \"file:///etc/x.png\", \"categories\": []}}", "Icon 'file:///etc/x.png' of recipe 'r' is neither a web address nor a path inside the repository")]
    [InlineData("{\"description\": \"d\", \"packages\": [], \"desktop\": {\"name\": \"a\", \"icon\": \"a.gif\", \"categories\": []}}", "Icon extension '.gif' is not supported")]
    [InlineData("{\"description\": \"d\", \"packages\": [], \"desktop\": {\"name\": \"a\", \"icon\": \"a.png\"}}", "Failed to deserialize json")]
    [InlineData("{\"description\": \"d\", \"packages\": [], \"desktop\": {\"name\": \"a\", \"icon\": \"a.png\", \"categories\": [], \"integrations\": [\"menu\"]}}", "Failed to deserialize json")]
    public void Bad_recipes_fail_with_one_clear_message(string json, string message) => Assert.Equal(message, Failure(json));

    [Fact]
    public void An_oversized_body_is_refused_before_parsing()
    {
        var body = new byte[RecipeParser.MaxBytes + 1];
        Assert.Equal($"Recipe 'r' is larger than {RecipeParser.MaxBytes} bytes", Assert.Throws<RecipeException>(() => RecipeParser.Parse("r", body)).Message);
    }

    [Fact]
    public void Control_characters_from_a_recipe_never_reach_a_message_raw()
    {
        string message = Failure("{\"description\": \"d\", \"packages\": [\"a\\u001b[2Jb\\nc\"]}");
        Assert.Equal("Invalid package name 'a\\x1b[2Jb\\x0ac' in recipe 'r'", message);
    }

    [Theory]
    [InlineData("gpu", true)]
    [InlineData("network-tools", true)]
    [InlineData("python3.11", true)]
    [InlineData("a/b", false)]
    [InlineData("..", false)]
    [InlineData("a..b", false)]
    [InlineData(".hidden", false)]
    [InlineData("-o", false)]
    [InlineData("a b", false)]
    [InlineData("a%2fb", false)]
    [InlineData("", false)]
    public void Recipe_names_are_one_safe_path_segment(string name, bool valid) => Assert.Equal(valid, RecipeName.IsValid(name));
}
