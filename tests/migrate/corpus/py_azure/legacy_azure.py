import openai

openai.api_type = "azure"
openai.api_base = "https://contoso-eastus.openai.azure.com/"
openai.api_version = "2023-05-15"


def ask(question):
    response = openai.ChatCompletion.create(
        engine="gpt-35-turbo",
        messages=[{"role": "user", "content": question}],
    )
    return response.choices[0].message.content
